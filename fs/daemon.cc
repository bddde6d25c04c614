#include "fs/daemon.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/store.h"
#include "fs/compactor.h"
#include "fs/filesystem.h"
#include "fs/log.h"

namespace docfs::fs {
namespace {

// Parent side of daemonizing: waits for the child to report readiness.
int wait_for_daemon(int fd, pid_t child) {
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (msg == "ok") return 0;
  if (msg.empty()) {
    int status = 0;
    waitpid(child, &status, 0);
    msg = "the daemon exited before the mount was ready";
  }
  fprintf(stderr, "docfs mount: %s\n", msg.c_str());
  return 1;
}

void detach_stdio() {
  int fd = ::open("/dev/null", O_RDWR);
  if (fd < 0) return;
  dup2(fd, 0);
  dup2(fd, 1);
  dup2(fd, 2);
  if (fd > 2) ::close(fd);
}

// The files of a private converted copy (see MountOptions::store_is_private_copy); the
// empty directory stays until unmount so statfs on the mount still has a place to ask.
void remove_private_copy_files(const std::string& dir) {
  for (const char* name : {"header.bin", "body.bin", "lock"}) ::unlink((dir + "/" + name).c_str());
}

struct SessionDeleter {
  void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};

int serve(const MountOptions& opts, int ready_fd) {
  auto report_failure = [&](const std::string& why) {
    if (ready_fd >= 0) {
      ssize_t w = ::write(ready_fd, why.data(), why.size());
      (void)w;
    } else {
      fprintf(stderr, "docfs mount: %s\n", why.c_str());
    }
    return 1;
  };

  Compactor::block_signal();  // before libfuse starts its worker threads
  std::unique_ptr<Store> store;
  std::unique_ptr<Filesystem> fs;
  try {
    OpenOptions oo;
    oo.read_only = opts.read_only;
    store = Store::open(opts.store_dir, oo);
    fs = std::make_unique<Filesystem>(store.get(), opts);
    if (opts.store_is_private_copy) remove_private_copy_files(opts.store_dir);  // the store holds them open
  } catch (const Error& e) {
    return report_failure(e.what());
  }

  std::string fuse_opts = libfuse_options(opts);
  std::vector<std::string> argv_s = {"docfs", "-o", fuse_opts};
  if (opts.debug) argv_s.push_back("-d");
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  std::unique_ptr<fuse_session, SessionDeleter> se(
      fuse_session_new(&args, Filesystem::operations(), sizeof(fuse_lowlevel_ops), fs.get()));
  fuse_opt_free_args(&args);
  if (!se) return report_failure("invalid mount options: " + fuse_opts);
  if (fuse_set_signal_handlers(se.get()) != 0)
    return report_failure("cannot install signal handlers");
  if (fuse_session_mount(se.get(), opts.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se.get());
    return report_failure("cannot mount on " + opts.mountpoint +
                          " (is it an existing empty directory? see the message above)");
  }
  fs->set_session(se.get());

  Compactor compactor(*store, opts);
  if (!store->read_only()) compactor.start();
  DOCFS_LOG_INFO("mounted %s on %s (pid %d)", opts.store_dir.c_str(), opts.mountpoint.c_str(),
                 getpid());
  if (ready_fd >= 0) {
    ssize_t w = ::write(ready_fd, "ok", 2);
    (void)w;
    ::close(ready_fd);
    detach_stdio();
    if (chdir("/") != 0) DOCFS_LOG_WARN("chdir /: %s", strerror(errno));
  }

  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  fuse_loop_cfg_set_idle_threads(cfg, 10);
  int rc = fuse_session_loop_mt(se.get(), cfg);
  fuse_loop_cfg_destroy(cfg);

  // Unmounted (fusermount3 -u, umount) or signalled (SIGTERM/SIGINT/SIGHUP).
  fuse_session_unmount(se.get());
  compactor.stop();
  fs->flush_all();
  fuse_remove_signal_handlers(se.get());
  se.reset();     // may call destroy (flush_all again): fs and store still alive
  fs.reset();
  store.reset();  // final flush, releases the lock
  if (opts.store_is_private_copy) ::rmdir(opts.store_dir.c_str());
  DOCFS_LOG_INFO("unmounted %s from %s", opts.store_dir.c_str(), opts.mountpoint.c_str());
  return rc < 0 ? 1 : 0;
}

}  // namespace

int run_mount(const MountOptions& opts) {
  bool daemonize = !opts.foreground && !opts.debug;
  log_init(daemonize, opts.debug);
  if (!daemonize) return serve(opts, -1);

  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) throw IoError(errno, "pipe");
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw IoError(errno, "fork");
  if (pid > 0) {
    ::close(pipefd[1]);
    return wait_for_daemon(pipefd[0], pid);
  }
  ::close(pipefd[0]);
  setsid();
  exit(serve(opts, pipefd[1]));  // the daemon never returns into the command line code
}

}  // namespace docfs::fs
