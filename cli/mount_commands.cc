// `docfs mount`, `docfs umount`, and the mount(8) helper (`mount.docfs`,
// `mount.fuse.docfs`: the docfs binary under another name).
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/jina_dam_view.h"
#include "core/error.h"
#include "core/store.h"
#include "fs/daemon.h"
#include "fs/options.h"
#include "interop/jina_dam.h"

namespace docfs::cli {
namespace {

std::string absolute(const std::string& path, const char* what) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) throw IoError(errno, std::string(what) + " " + path);
  return buf;
}

std::string mount_source(const std::string& mountpoint);

// Drops "nonempty" from -o lists (libfuse 3 no longer knows it; it lifts our own check),
// and "key_length=N" (a Jina DocumentArrayMemmap's key length, for us, not for libfuse).
std::vector<std::string> without_nonempty(const std::vector<std::string>& lists, bool* nonempty,
                                          std::optional<int>* key_length) {
  std::vector<std::string> out;
  for (const std::string& list : lists) {
    std::string kept, item;
    std::istringstream in(list);
    while (std::getline(in, item, ',')) {
      if (item == "nonempty") {
        *nonempty = true;
        continue;
      }
      if (item.rfind("key_length=", 0) == 0) {
        *key_length = static_cast<int>(parse_size(item.substr(11)));
        continue;
      }
      kept += (kept.empty() ? "" : ",") + item;
    }
    if (!kept.empty()) out.push_back(kept);
  }
  return out;
}

bool on_path(const char* program) {
  const char* path = getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

// The mistakes a newcomer makes first, each answered with what to do about it.
void check_mount_prerequisites(const std::string& store, const std::string& mountpoint, bool nonempty) {
  struct stat st;
  if (stat(store.c_str(), &st) != 0 && errno == ENOENT)
    throw UsageError(ENOENT, "no store at " + store + " (create one with: docfs init " + store + ")");
  if (stat(mountpoint.c_str(), &st) != 0) {
    if (errno == ENOENT)
      throw UsageError(ENOENT, "mount point " + mountpoint + " does not exist (create it with: mkdir -p " + mountpoint + ")");
    if (errno == ENOTCONN)
      throw UsageError(ENOTCONN, "mount point " + mountpoint + " is a dead mount (its daemon died); clear it with: fusermount3 -uz " + mountpoint);
    throw IoError(errno, "mount point " + mountpoint);
  }
  if (!S_ISDIR(st.st_mode))
    throw UsageError(ENOTDIR, "mount point " + mountpoint + " is not a directory (mount on an empty directory)");
  if (!mount_source(absolute(mountpoint, "mount point")).empty())
    throw UsageError(EBUSY, mountpoint + " is already a FUSE mount (unmount it first: docfs umount " + mountpoint + ")");
  if (!nonempty) {
    if (DIR* d = opendir(mountpoint.c_str())) {
      bool empty = true;
      while (dirent* e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
      closedir(d);
      if (!empty)
        throw UsageError(ENOTEMPTY, "mount point " + mountpoint +
                                        " is not empty: its files would be hidden while mounted (use an empty "
                                        "directory, or -o nonempty if that is what you want)");
    }
  }
  if (access("/dev/fuse", R_OK | W_OK) != 0)
    throw UsageError(errno, std::string("/dev/fuse is ") + (errno == ENOENT ? "missing" : "not accessible") +
                                " (" + strerror(errno) + "): load the module with `modprobe fuse`, or in a "
                                "container start it with --device /dev/fuse --cap-add SYS_ADMIN");
  if (getuid() != 0 && !on_path("fusermount3"))
    throw UsageError(ENOENT, "fusermount3 is not installed: install the fuse3 package (apt-get install fuse3)");
}

// A Jina DocumentArrayMemmap is mounted read-only from a private docfs store converted from
// it now (reading only), outside DAMDIR; the daemon unlinks the copy's files once open and
// removes its directory at unmount. A read-write mount is refused with the Jina message.
int mount_jina_dam(fs::MountOptions opts, bool remote, std::optional<int> key_length) {
  if (!opts.read_only) throw ForeignStoreError(opts.store_dir, opts.store_dir + " is a Jina DocumentArrayMemmap");
  if (remote) throw UsageError(EINVAL, "a Jina DocumentArrayMemmap mount has no remote (it is read-only)");
  opts.remote_url.clear();
  const std::string dam = opts.store_dir;
  const std::string copy = make_private_dir("docfs-jina-mount");
  try {
    auto t0 = std::chrono::steady_clock::now();
    interop::JinaDamInfo info = convert_jina_dam(dam, copy, key_length, std::cerr);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fprintf(stderr, "docfs mount: %s: Jina DocumentArrayMemmap (key length %d, %llu documents), served read-only "
            "from a copy converted in %.2f s\n", dam.c_str(), info.key_length,
            static_cast<unsigned long long>(info.live), secs);
    if (opts.fsname.empty()) opts.fsname = dam;
    opts.store_dir = copy;
    opts.store_is_private_copy = true;
    const bool daemonized = !opts.foreground && !opts.debug;
    int rc = fs::run_mount(opts);
    // A daemon that started owns the copy now; otherwise (failed, or served in the
    // foreground and unmounted) it is ours to remove.
    if (rc != 0 || !daemonized) remove_private_dir(copy);
    return rc;
  } catch (...) {
    remove_private_dir(copy);
    throw;
  }
}

int run_mount(int argc, char** argv) {
  Args args(argc, argv, {"-o", "--remote"}, {"-f", "-d", "--foreground", "--debug"});
  if (args.help()) {
    printf("%s", mount_commands()[0].usage.c_str());
    return kExitOk;
  }
  args.expect_positional(2, 2);
  bool nonempty = false;
  std::optional<int> key_length;
  std::vector<std::string> option_lists = without_nonempty(args.values("-o"), &nonempty, &key_length);
  check_mount_prerequisites(args.positional()[0], args.positional()[1], nonempty);
  fs::MountOptions opts;
  opts.store_dir = absolute(args.positional()[0], "store");
  opts.mountpoint = absolute(args.positional()[1], "mount point");
  opts.foreground = args.has("-f") || args.has("--foreground");
  opts.debug = args.has("-d") || args.has("--debug");
  for (const std::string& o : option_lists) fs::parse_mount_options(o, opts);
  if (auto r = args.value("--remote")) opts.remote_url = *r;
  if (opts.remote_url.empty())
    if (const char* env = getenv("DOCFS_REMOTE"); env && *env) opts.remote_url = env;
  if (key_length || interop::looks_like_jina_dam(opts.store_dir))
    return mount_jina_dam(opts, args.has("--remote"), key_length);
  return fs::run_mount(opts);
}

// The FUSE source (fsname) of the mount at `mountpoint`, from /proc/self/mountinfo.
std::string mount_source(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source super
    std::istringstream fields(line);
    std::string id, parent, dev, root, mp;
    fields >> id >> parent >> dev >> root >> mp;
    if (mp != mountpoint) continue;
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string type, source;
    rest >> type >> source;
    if (type.rfind("fuse", 0) == 0) found = source;  // the last (topmost) mount wins
  }
  return found;
}

int run_umount(int argc, char** argv) {
  Args args(argc, argv, {}, {"-z", "--lazy"});
  if (args.help()) {
    printf("%s", mount_commands()[1].usage.c_str());
    return kExitOk;
  }
  args.expect_positional(1, 1);
  std::string mp = absolute(args.positional()[0], "mount point");
  std::string source = mount_source(mp);
  if (source.empty()) throw UsageError(EINVAL, mp + " is not a FUSE mount");
  bool lazy = args.has("-z") || args.has("--lazy");

  pid_t pid = fork();
  if (pid == 0) {
    if (lazy) {
      execlp("fusermount3", "fusermount3", "-u", "-z", mp.c_str(), static_cast<char*>(nullptr));
    } else {
      execlp("fusermount3", "fusermount3", "-u", mp.c_str(), static_cast<char*>(nullptr));
    }
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) throw IoError(errno, "running fusermount3");
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) {
    if (umount2(mp.c_str(), lazy ? MNT_DETACH : 0) != 0)
      throw IoError(errno, "unmounting " + mp);
  } else if (WEXITSTATUS(status) != 0) {
    return kExitFailure;  // fusermount3 said why
  }
  if (lazy) return kExitOk;  // the daemon finishes when the last file is closed
  // The daemon flushes and releases the store lock after the unmount: wait for that,
  // so a following mount or CLI writer finds the store free.
  std::string store_dir(source.c_str());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lock_holder_pid(store_dir) != 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      fprintf(stderr, "docfs umount: the daemon for %s has not exited after 60 s\n",
              store_dir.c_str());
      return kExitFailure;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return kExitOk;
}

// mount(8) runs `mount.docfs STORE DIR [-sfnv] [-o OPTIONS] [-t TYPE]`: re-executes this
// binary as `docfs mount STORE DIR -o OPTIONS`. Runs before main() (glibc passes argc and
// argv to constructors), so cli/main.cc need not know about it.
__attribute__((constructor)) void mount_helper(int argc, char** argv, char** envp) {
  (void)envp;
  if (argc < 1 || !argv || !argv[0]) return;
  const char* base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  if (strncmp(base, "mount.", 6) != 0) return;
  std::vector<std::string> out = {"docfs", "mount"};
  std::vector<std::string> options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc) {
      options.push_back(argv[++i]);
    } else if (a.rfind("-o", 0) == 0 && a.size() > 2) {
      options.push_back(a.substr(2));
    } else if ((a == "-t" || a == "-N") && i + 1 < argc) {
      ++i;  // type / namespace: not ours to use
    } else if (!a.empty() && a[0] == '-') {
      continue;  // -s -f -n -v
    } else {
      out.push_back(a);
    }
  }
  for (const std::string& o : options) {
    out.push_back("-o");
    out.push_back(o);
  }
  std::vector<char*> cargv;
  for (auto& s : out) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  execv("/proc/self/exe", cargv.data());
  fprintf(stderr, "%s: cannot re-execute docfs: %s\n", base, strerror(errno));
  _exit(1);
}

}  // namespace

std::vector<Command> mount_commands() {
  return {
      {"mount", "mount a store as a directory (FUSE)",
       "usage: docfs mount STORE MOUNTPOINT [-f] [-d] [--remote URL] [-o OPTIONS]\n"
       "\n"
       "Shows every document of STORE as a file under MOUNTPOINT; ids with '/' are\n"
       "nested directories. Returns once the mount is ready (the daemon stays behind).\n"
       "A Jina DocumentArrayMemmap directory mounts with -o ro only: it is served from a private\n"
       "docfs copy converted now (outside it; removed at unmount); nothing is written into it.\n"
       "\n"
       "  -f          stay in the foreground, log to stderr\n"
       "  -d          log every request (implies -f)\n"
       "  --remote URL  the remote MOUNTPOINT/.remote/ shows (file:///DIR or s3://BUCKET/PREFIX;\n"
       "              default $DOCFS_REMOTE, else the file:// default of `docfs push`)\n"
       "  -o OPTIONS  comma separated:\n"
       "      ro                   read-only (the store is opened read-only: a snapshot)\n"
       "      allow_other          let other users in (needs user_allow_other for non-root)\n"
       "      default_permissions  the kernel checks mode bits\n"
       "      uid=N,gid=N          show every file as owned by N\n"
       "      umask=MODE           mask shown mode bits (octal)\n"
       "      attr_timeout=S       seconds the kernel caches attributes (default 86400)\n"
       "      entry_timeout=S      seconds the kernel caches names (default 86400)\n"
       "      fsname=NAME          the source shown in mount(8) (default: the store path)\n"
       "      compact_min=SIZE     garbage needed before online compaction (default 64M)\n"
       "      compact_ratio=R      garbage/body.bin ratio needed (default 0.5)\n"
       "      stage_memory=SIZE    staged bytes per open file kept in RAM (default 8M)\n"
       "      remote=URL           same as --remote\n"
       "      remote_endpoint=URL  S3 endpoint for the remote (else AWS_ENDPOINT_URL)\n"
       "      remote_ttl=S         revalidate cached keys / the key list every S s (default 5)\n"
       "      push_delay=S         push a changed key after S s without changes (default 2)\n"
       "      key_length=N         a Jina DocumentArrayMemmap's key length (default: detected)\n"
       "  Other options are passed to FUSE (nosuid, nodev, max_read=, ...).\n"
       "\n"
       "Unmount with `docfs umount MOUNTPOINT`, `fusermount3 -u MOUNTPOINT`, or SIGTERM.\n"
       "mount.docfs / mount.fuse.docfs (links to docfs) make `mount -t fuse.docfs STORE DIR`\n"
       "and fstab lines like `STORE DIR fuse.docfs defaults 0 0` work.\n",
       run_mount},
      {"umount", "unmount a docfs mount and wait for the store to be released",
       "usage: docfs umount [-z] MOUNTPOINT\n"
       "\n"
       "Unmounts (fusermount3 -u) and waits until the daemon has written everything and\n"
       "released the store lock.\n"
       "  -z  lazy: detach now, finish when the last file is closed\n",
       run_umount},
  };
}

}  // namespace docfs::cli
