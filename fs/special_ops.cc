// Symbolic links and special files: documents whose mode says what they are. A symlink's
// content is its target, byte for byte; a FIFO, socket or device node has no content (a
// device keeps its rdev in the metadata). The kernel follows links and opens special
// files itself, so only creation, readlink and getattr reach the daemon.
#include <limits.h>
#include <sys/stat.h>

#include <cstring>

#include "fs/errors.h"
#include "fs/filesystem.h"
#include "fs/log.h"

namespace docfs::fs {

void Filesystem::make_special(fuse_req_t req, fuse_ino_t parent, const char* name, uint32_t mode, uint64_t rdev,
                              std::string_view content) {
  prepare(parent);
  fuse_entry_param e{};
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* dir = node_locked(parent);
    if (!dir->is_dir) fail(ENOTDIR);
    if (dir->remote_folder) fail(EPERM);  // .remote/ holds only keys (directories)
    if (reserved_name_locked(dir, name)) fail(EEXIST);
    std::string id = child_id_locked(dir, name);
    require_writable(dir);
    if (InodeTable::child(dir, name)) fail(EEXIST);
    const fuse_ctx* ctx = fuse_req_ctx(req);
    Document doc;
    doc.meta.id = id;
    doc.meta.mode = mode;
    doc.meta.rdev = rdev;
    doc.meta.uid = ctx->uid;
    doc.meta.gid = ctx->gid;
    doc.meta.mtime_ns = doc.meta.ctime_ns = now_ns();
    if (S_ISREG(mode)) doc.meta.mime_type = guess_mime(name);
    doc.content = std::string(content);
    dir->volume->store->put(doc);
    changed(dir->volume);
    Node* n = table_.add_child(dir, name, false);
    InodeTable::entries_changed(dir, doc.meta.mtime_ns);
    e = entry_locked(n);
  }
  fuse_reply_entry(req, &e);
}

void Filesystem::symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  const size_t len = std::strlen(target);
  if (len >= PATH_MAX) fail(ENAMETOOLONG);  // PATH_MAX counts the NUL
  if (len == 0) fail(ENOENT);               // symlink(2): an empty target
  make_special(req, parent, name, S_IFLNK | 0777, 0, std::string_view(target, len));
}

void Filesystem::mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  switch (mode & S_IFMT) {
    case S_IFREG:
    case 0:
      return make_special(req, parent, name, S_IFREG | (mode & 07777), 0, "");
    case S_IFIFO:
    case S_IFSOCK:
      return make_special(req, parent, name, mode & (S_IFMT | 07777), 0, "");
    case S_IFCHR:
    case S_IFBLK:
      return make_special(req, parent, name, mode & (S_IFMT | 07777), rdev, "");
    default:
      fail(EINVAL);
  }
}

void Filesystem::readlink(fuse_req_t req, fuse_ino_t ino) {
  prepare(ino);
  std::string id;
  Node* n;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    n = node_locked(ino);
    if (n->is_dir) fail(EINVAL);
    if (!n->removed) id = InodeTable::id_of(n);
  }
  std::optional<ContentRef> c;
  if (!id.empty()) {
    auto st = n->volume->store->stat(id);
    if (!st || (st->mode & S_IFMT) != S_IFLNK) fail(EINVAL);
    c = n->volume->store->content(id);
  }
  if (!c || c->size() >= PATH_MAX) fail(EINVAL);
  std::string target = c->read_all();
  fuse_reply_readlink(req, target.c_str());
}

}  // namespace docfs::fs
