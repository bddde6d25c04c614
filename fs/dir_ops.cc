// The namespace: mkdir, unlink, rmdir, rename and directory listing.
#include <sys/stat.h>

#include <vector>

#include "fs/errors.h"
#include "fs/filesystem.h"
#include "fs/log.h"
#include "fs/remote_sync.h"

namespace docfs::fs {

void Filesystem::mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  if (is_remote_folder(parent)) return mkdir_key(req, name);
  prepare(parent);
  fuse_entry_param e{};
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* dir = node_locked(parent);
    if (!dir->is_dir) fail(ENOTDIR);
    if (reserved_name_locked(dir, name)) fail(EEXIST);
    std::string id = child_id_locked(dir, name);
    require_writable(dir);
    if (InodeTable::child(dir, name)) fail(EEXIST);
    const fuse_ctx* ctx = fuse_req_ctx(req);
    Document marker;
    marker.meta.id = id;
    marker.meta.mode = S_IFDIR | (mode & 07777);
    marker.meta.uid = ctx->uid;
    marker.meta.gid = ctx->gid;
    marker.meta.mtime_ns = marker.meta.ctime_ns = now_ns();
    dir->volume->store->put(marker);
    changed(dir->volume);
    Node* n = table_.add_child(dir, name, true);
    n->explicit_dir = true;
    InodeTable::entries_changed(dir, marker.meta.mtime_ns);
    e = entry_locked(n);
  }
  fuse_reply_entry(req, &e);
}

void Filesystem::orphan_locked(Node* n) {
  if (n->nlookup == 0 && n->open_count == 0) return;  // nobody can open it any more
  n->orphan_content = n->volume->store->content(InodeTable::id_of(n));
  if (auto st = n->volume->store->stat(InodeTable::id_of(n))) n->last_stat = *st;
}

void Filesystem::unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  prepare(parent);
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* dir = node_locked(parent);
    Node* n = InodeTable::child(dir, name);
    if (!n) fail(ENOENT);
    if (n->is_dir) fail(EISDIR);
    require_writable(n);
    std::string id = InodeTable::id_in(dir, name);  // this name: a linked file has others
    const bool last_name = !InodeTable::has_other_names(n);
    if (last_name) orphan_locked(n);
    n->volume->store->remove(id);
    changed(n->volume);
    int64_t now = now_ns();
    InodeTable::status_changed(n, now);  // an open descriptor's fstat sees it
    table_.remove_name(n, dir, name);
    InodeTable::entries_changed(dir, now);
    keep_directory_locked(dir);
  }
  fuse_reply_err(req, 0);
}

void Filesystem::link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  prepare(ino);
  prepare(newparent);
  fuse_entry_param e{};
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* n = node_locked(ino);
    Node* dir = node_locked(newparent);
    if (!dir->is_dir) fail(ENOTDIR);
    if (n->is_dir) fail(EPERM);  // link(2): no hard links to directories
    if (dir->remote_folder) fail(EPERM);  // .remote/ holds only keys
    // A file under one key and a name under another key or the mount root live in two
    // stores: no link can join them.
    if (n->volume != dir->volume) fail(EXDEV);
    if (n->removed) fail(ENOENT);  // linkat(AT_EMPTY_PATH) of an unlinked file
    if (reserved_name_locked(dir, newname)) fail(EEXIST);
    std::string id = child_id_locked(dir, newname);
    require_writable(dir);
    if (InodeTable::child(dir, newname)) fail(EEXIST);
    n->volume->store->link(InodeTable::id_of(n), id);
    changed(n->volume);
    table_.add_link(n, dir, newname);
    int64_t now = now_ns();
    InodeTable::status_changed(n, now);  // the link count is part of the status
    InodeTable::entries_changed(dir, now);
    e = entry_locked(n);
  }
  fuse_reply_entry(req, &e);
}

void Filesystem::rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (is_remote_folder(parent)) return rmdir_key(req, name);
  prepare(parent);
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* dir = node_locked(parent);
    Node* n = InodeTable::child(dir, name);
    if (!n) fail(ENOENT);
    if (!n->is_dir) fail(ENOTDIR);
    if (!n->children.empty()) fail(ENOTEMPTY);
    require_writable(n);
    if (n->explicit_dir) n->volume->store->remove(InodeTable::id_of(n));
    changed(n->volume);
    table_.remove(n);
    InodeTable::entries_changed(dir, now_ns());
    keep_directory_locked(dir);
  }
  fuse_reply_err(req, 0);
}

void Filesystem::rename(fuse_req_t req, fuse_ino_t parent, const char* name,
                        fuse_ino_t newparent, const char* newname, unsigned flags) {
  if (flags & RENAME_EXCHANGE) fail(EINVAL);
  prepare(parent);
  if (newparent != parent) prepare(newparent);
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* from_dir = node_locked(parent);
    Node* to_dir = node_locked(newparent);
    if (!to_dir->is_dir) fail(ENOTDIR);
    if (from_dir->remote_folder || to_dir->remote_folder) fail(EPERM);  // keys are not renamed
    if (reserved_name_locked(to_dir, newname)) fail(EEXIST);
    Node* src = InodeTable::child(from_dir, name);
    if (!src) fail(ENOENT);
    std::string to_id = child_id_locked(to_dir, newname);
    require_writable(src);
    if (src->volume != to_dir->volume) fail(EXDEV);
    Node* dst = InodeTable::child(to_dir, newname);
    if (dst == src) {
      fuse_reply_err(req, 0);
      return;
    }
    if (dst && (flags & RENAME_NOREPLACE)) fail(EEXIST);
    if (src->is_dir && InodeTable::is_within(to_dir, src)) fail(EINVAL);
    if (dst) {
      if (dst->is_dir && !src->is_dir) fail(EISDIR);
      if (!dst->is_dir && src->is_dir) fail(ENOTDIR);
      if (dst->is_dir && !dst->children.empty()) fail(ENOTEMPTY);
    }
    Store& store = *src->volume->store;
    std::string from_id = InodeTable::id_in(from_dir, name);  // this name of src
    if (dst && !dst->is_dir && !InodeTable::has_other_names(dst)) orphan_locked(dst);
    if (!src->is_dir) {
      store.rename(from_id, to_id);  // atomically replaces dst's document
      // rsync, editors and downloaders write under a temporary name: the file gets the
      // mime type its final name says when it has none yet.
      if (std::string mime = guess_mime(newname); !mime.empty())
        if (auto m = store.meta(to_id); m && m->mime_type.empty() && (m->mode & S_IFMT) == S_IFREG) {
          m->mime_type = mime;
          store.update_meta(*m, false);
        }
    } else {
      if (dst && dst->explicit_dir) store.remove(InodeTable::id_of(dst), false);
      // A directory is a prefix: rename each id below it. Not atomic as a whole; on a
      // failure the ids already moved are moved back before the error is returned.
      std::vector<std::string> ids;
      InodeTable::collect_ids(src, ids);
      size_t done = 0;
      try {
        for (; done < ids.size(); ++done)
          store.rename(ids[done], to_id + ids[done].substr(from_id.size()), false);
        store.flush();
      } catch (const Error& e) {
        DOCFS_LOG_ERROR("rename %s -> %s failed after %zu of %zu ids: %s", from_id.c_str(),
                        to_id.c_str(), done, ids.size(), e.what());
        try {
          while (done-- > 0)
            store.rename(to_id + ids[done].substr(from_id.size()), ids[done], false);
          store.flush();
        } catch (const Error& e2) {
          DOCFS_LOG_ERROR("rolling back rename %s failed: %s", from_id.c_str(), e2.what());
        }
        throw;
      }
    }
    changed(src->volume);
    int64_t now = now_ns();
    if (dst) {
      InodeTable::status_changed(dst, now);
      table_.remove_name(dst, to_dir, newname);
    }
    table_.move_name(src, from_dir, name, to_dir, newname);
    ++src->version;
    // Linux changes the ctime of what was renamed too (ext4, tmpfs); POSIX allows it.
    InodeTable::status_changed(src, now);
    InodeTable::entries_changed(from_dir, now);
    InodeTable::entries_changed(to_dir, now);
    keep_directory_locked(from_dir);
  }
  fuse_reply_err(req, 0);
}

void Filesystem::opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (is_remote_folder(ino)) {
    refresh_remote_folder();
  } else {
    prepare(ino);
  }
  auto dh = std::make_unique<DirHandle>();
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* n = node_locked(ino);
    if (!n->is_dir) fail(ENOTDIR);
    dh->node = n;
    dh->entries.reserve(n->children.size() + 2);
    dh->entries.push_back({".", n->ino, true});
    dh->entries.push_back({"..", n->parent ? n->parent->ino : n->ino, true});
    for (const auto& [name, c] : n->children) dh->entries.push_back({name, c->ino, c->is_dir});
    ++n->open_count;
    // The kernel may keep the listing in its page cache and answer later readdirs itself.
    // Every change to a directory of the mounted store comes through a request, after
    // which the kernel drops that cache (and checks the directory's mtime at each
    // opendir). Under .remote/ a revalidation may swap the tree at any opendir: no cache.
    if (!short_lived(n)) {
      fi->cache_readdir = 1;
      fi->keep_cache = 1;
    }
  }
  fi->fh = reinterpret_cast<uint64_t>(dh.release());
  if (fuse_reply_open(req, fi) == -ENOENT) releasedir(nullptr, ino, fi);
}

void Filesystem::readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                         fuse_file_info* fi, bool plus) {
  (void)ino;
  auto* dh = reinterpret_cast<DirHandle*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    for (size_t i = static_cast<size_t>(off); i < dh->entries.size(); ++i) {
      const DirEntry& d = dh->entries[i];
      char* p = buf.data() + used;
      size_t room = size - used;
      off_t next = static_cast<off_t>(i + 1);
      size_t need;
      if (i < 2) {  // "." and "..": no lookup count (the kernel skips them)
        fuse_entry_param e{};
        e.attr.st_ino = d.ino;
        e.attr.st_mode = S_IFDIR;
        need = plus ? fuse_add_direntry_plus(req, p, room, d.name.c_str(), &e, next)
                    : fuse_add_direntry(req, p, room, d.name.c_str(), &e.attr, next);
      } else {
        Node* n = table_.get(d.ino);
        if (!n || n->removed) continue;  // gone since opendir
        if (plus) {
          fuse_entry_param e{};
          try {
            e.attr = attr_locked(n);
          } catch (const Error&) {
            continue;
          }
          e.ino = n->ino;
          e.attr_timeout = attr_timeout_of(n);
          e.entry_timeout = entry_timeout_of(n);
          need = fuse_add_direntry_plus(req, p, room, d.name.c_str(), &e, next);
          if (need <= room) ++n->nlookup;
        } else {
          struct stat st {};
          st.st_ino = d.ino;
          st.st_mode = d.is_dir ? S_IFDIR : S_IFREG;
          need = fuse_add_direntry(req, p, room, d.name.c_str(), &st, next);
        }
      }
      if (need > room) break;
      used += need;
    }
  }
  fuse_reply_buf(req, buf.data(), used);
}

void Filesystem::releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)ino;
  std::unique_ptr<DirHandle> dh(reinterpret_cast<DirHandle*>(fi->fh));
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    --dh->node->open_count;
    table_.maybe_erase(dh->node);
  }
  if (req) fuse_reply_err(req, 0);
}

void Filesystem::fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  (void)datasync;
  (void)fi;
  RemoteKey* key = nullptr;
  Store* st = &store();
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* n = node_locked(ino);
    key = n->volume->key;
    if (n->volume->store) st = n->volume->store;
  }
  if (!st->read_only()) st->sync();
  if (key) push_now(*key);  // fsync of a key's directory pushes it (also a new, empty one)
  fuse_reply_err(req, 0);
}

}  // namespace docfs::fs
