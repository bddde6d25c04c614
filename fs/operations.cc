// The fuse_lowlevel_ops table: trampolines from libfuse's C callbacks into Filesystem.
// No exception may cross into libfuse: every handler runs inside guarded().
#include <new>

#include "fs/errors.h"
#include "fs/filesystem.h"
#include "fs/log.h"

namespace docfs::fs {
namespace {

Filesystem* fs_of(fuse_req_t req) { return static_cast<Filesystem*>(fuse_req_userdata(req)); }

template <typename F>
void guarded(fuse_req_t req, const char* op, F&& f) {
  try {
    f();
  } catch (const FsErrno& e) {
    DOCFS_LOG_DEBUG("%s: errno %d", op, e.error_code());
    fuse_reply_err(req, e.error_code());
  } catch (const Error& e) {
    int err = e.error_code() > 0 ? e.error_code() : EIO;
    DOCFS_LOG_WARN("%s: %s", op, e.what());
    fuse_reply_err(req, err);
  } catch (const std::bad_alloc&) {
    DOCFS_LOG_ERROR("%s: out of memory", op);
    fuse_reply_err(req, ENOMEM);
  } catch (const std::exception& e) {
    DOCFS_LOG_ERROR("%s: %s", op, e.what());
    fuse_reply_err(req, EIO);
  }
}

void op_init(void* userdata, fuse_conn_info* conn) {
  static_cast<Filesystem*>(userdata)->init(conn);
}
void op_destroy(void* userdata) {
  static_cast<Filesystem*>(userdata)->flush_all();
}
void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "lookup", [&] { fs_of(req)->lookup(req, parent, name); });
}
void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  fs_of(req)->forget(ino, nlookup);
  fuse_reply_none(req);
}
void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) fs_of(req)->forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}
void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  guarded(req, "getattr", [&] { fs_of(req)->getattr(req, ino); });
}
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                fuse_file_info* fi) {
  guarded(req, "setattr", [&] { fs_of(req)->setattr(req, ino, attr, to_set, fi); });
}
void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  guarded(req, "mkdir", [&] { fs_of(req)->mkdir(req, parent, name, mode); });
}
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "unlink", [&] { fs_of(req)->unlink(req, parent, name); });
}
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, "rmdir", [&] { fs_of(req)->rmdir(req, parent, name); });
}
void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
               const char* newname, unsigned flags) {
  guarded(req, "rename",
          [&] { fs_of(req)->rename(req, parent, name, newparent, newname, flags); });
}
void op_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  guarded(req, "symlink", [&] { fs_of(req)->symlink(req, link, parent, name); });
}
void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, "readlink", [&] { fs_of(req)->readlink(req, ino); });
}
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  guarded(req, "link", [&] { fs_of(req)->link(req, ino, newparent, newname); });
}
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  guarded(req, "mknod", [&] { fs_of(req)->mknod(req, parent, name, mode, rdev); });
}
void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  guarded(req, "create", [&] { fs_of(req)->create(req, parent, name, mode, fi); });
}
void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "open", [&] { fs_of(req)->open(req, ino, fi); });
}
void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  guarded(req, "read", [&] { fs_of(req)->read(req, ino, size, off, fi); });
}
void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
              fuse_file_info* fi) {
  guarded(req, "write", [&] { fs_of(req)->write(req, ino, buf, size, off, fi); });
}
void op_flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "flush", [&] { fs_of(req)->flush(req, ino, fi); });
}
void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "release", [&] { fs_of(req)->release(req, ino, fi); });
}
void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  guarded(req, "fsync", [&] { fs_of(req)->fsync(req, ino, datasync, fi); });
}
void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "opendir", [&] { fs_of(req)->opendir(req, ino, fi); });
}
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  guarded(req, "readdir", [&] { fs_of(req)->readdir(req, ino, size, off, fi, false); });
}
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    fuse_file_info* fi) {
  guarded(req, "readdirplus", [&] { fs_of(req)->readdir(req, ino, size, off, fi, true); });
}
void op_releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, "releasedir", [&] { fs_of(req)->releasedir(req, ino, fi); });
}
void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  guarded(req, "lseek", [&] { fs_of(req)->lseek(req, ino, off, whence, fi); });
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info* fi) {
  guarded(req, "fallocate", [&] { fs_of(req)->fallocate(req, ino, mode, offset, length, fi); });
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  guarded(req, "fsyncdir", [&] { fs_of(req)->fsyncdir(req, ino, datasync, fi); });
}
void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, "statfs", [&] { fs_of(req)->statfs(req, ino); });
}
void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
                 size_t size, int flags) {
  guarded(req, "setxattr", [&] { fs_of(req)->setxattr(req, ino, name, value, size, flags); });
}
void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  guarded(req, "getxattr", [&] { fs_of(req)->getxattr(req, ino, name, size); });
}
void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  guarded(req, "listxattr", [&] { fs_of(req)->listxattr(req, ino, size); });
}
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  guarded(req, "removexattr", [&] { fs_of(req)->removexattr(req, ino, name); });
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.destroy = op_destroy;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.symlink = op_symlink;
  ops.readlink = op_readlink;
  ops.link = op_link;
  ops.mknod = op_mknod;
  ops.create = op_create;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.lseek = op_lseek;
  ops.fallocate = op_fallocate;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.fsyncdir = op_fsyncdir;
  ops.statfs = op_statfs;
  ops.setxattr = op_setxattr;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.removexattr = op_removexattr;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops* Filesystem::operations() {
  static const fuse_lowlevel_ops ops = make_ops();
  return &ops;
}

}  // namespace docfs::fs
