// Extended attribute handlers: document metadata through fs/xattr.h.
#include <string_view>

#include "fs/errors.h"
#include "fs/filesystem.h"
#include "fs/remote_sync.h"
#include "fs/xattr.h"

namespace docfs::fs {
namespace {

bool is_user(std::string_view name) { return name.substr(0, 5) == "user."; }

void reply_value(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (size < value.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

}  // namespace

void Filesystem::getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  // Only user.* names are stored. Any other namespace (security.*, system.posix_acl_*,
  // trusted.*) is "not supported", as setxattr says: `ls -l` (gnulib's getfilecon and
  // file_has_acl) then remembers that for the whole file system after the first file
  // instead of asking for every file, and the kernel's write path (security.capability)
  // gets its answer without the store.
  if (!is_user(name)) fail(EOPNOTSUPP);
  std::string id;
  Store* store;
  RemoteKey* key = nullptr;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* n = node_locked(ino);
    if (is_key_root(n)) key = n->volume->key;
  }
  if (key) {  // user.docfs.status, .pushes, .remote, .etag
    std::optional<std::string> v = key_xattr(*key, name);
    if (!v) fail(ENODATA);
    return reply_value(req, *v, size);
  }
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* n = node_locked(ino);
    if (n == table_.root()) {
      id = kRootMetaId;
    } else {
      if (n->removed || (n->is_dir && !n->explicit_dir)) fail(ENODATA);
      id = InodeTable::id_of(n);
    }
    store = n->volume->store;
  }
  std::optional<DocumentMeta> meta = store->meta(id);
  if (!meta) fail(ENODATA);
  std::optional<std::string> value = get_xattr(*meta, name);
  if (!value) fail(ENODATA);
  reply_value(req, *value, size);
}

void Filesystem::listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  std::string id;
  Store* store;
  bool has_doc;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* n = node_locked(ino);
    has_doc = !n->removed && (!n->is_dir || n->explicit_dir || n == table_.root());
    if (is_key_root(n)) {
      std::string names = std::string("user.docfs.status") + '\0' + "user.docfs.pushes" + '\0' +
                          "user.docfs.remote" + '\0' + "user.docfs.etag" + '\0';
      return reply_value(req, names, size);
    }
    if (has_doc) id = n == table_.root() ? std::string(kRootMetaId) : InodeTable::id_of(n);
    store = n->volume->store;
  }
  std::string names;
  if (has_doc) {
    if (auto meta = store->meta(id)) names = list_xattrs(*meta);
  }
  reply_value(req, names, size);
}

void Filesystem::setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
                          size_t size, int flags) {
  if (!is_user(name)) fail(ENOTSUP);
  prepare(ino);
  Node* n;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    n = node_locked(ino);
  }
  require_writable(n);
  int err = 0;
  update_meta_of(n, [&](DocumentMeta& m) {
    err = set_xattr(m, name, std::string_view(value, size), flags);
    if (err) fail(err);
  });
  attr_changed(ino);  // ctime changed; the reply carries no attributes
  fuse_reply_err(req, 0);
}

void Filesystem::removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  if (!is_user(name)) fail(ENODATA);
  prepare(ino);
  Node* n;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    n = node_locked(ino);
    if (n->is_dir && !n->explicit_dir && n != table_.root()) fail(ENODATA);
  }
  require_writable(n);
  update_meta_of(n, [&](DocumentMeta& m) {
    if (int err = remove_xattr(m, name)) fail(err);
  });
  attr_changed(ino);  // ctime changed; the reply carries no attributes
  fuse_reply_err(req, 0);
}

}  // namespace docfs::fs
