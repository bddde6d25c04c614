// File data: create, open, read, write, flush, release, fsync, and the staging commit.
#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <vector>

#include "fs/errors.h"
#include "fs/filesystem.h"
#include "fs/log.h"

namespace docfs::fs {
namespace {

FileHandle* handle_of(fuse_file_info* fi) { return reinterpret_cast<FileHandle*>(fi->fh); }

}  // namespace

void Filesystem::stage(Node* n, WriteState& ws) {
  if (ws.buf) return;
  auto buf = std::make_unique<WriteBuffer>(*n->volume->store, opts_.stage_memory);
  std::string id;
  bool removed;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    removed = n->removed;
    if (!removed) id = InodeTable::id_of(n);
  }
  if (!removed) {
    // The old extents are kept, not copied: a change costs the bytes it writes.
    if (auto content = n->volume->store->content_extents(id)) buf->load(content->first, content->second);
  } else {
    std::optional<ContentRef> orphan;
    {
      std::lock_guard<std::mutex> lk(table_.mutex());
      orphan = n->orphan_content;
    }
    if (orphan) buf->load_copy(*orphan);
  }
  ws.size = buf->size();
  ws.data_bytes = buf->data_bytes();
  ws.buf = std::move(buf);
  ws.staged = true;
}

void Filesystem::truncate_staged(Node* n, WriteState& ws, uint64_t size) {
  if (size == 0 && !ws.buf) {  // nothing of the old content is needed
    ws.buf = std::make_unique<WriteBuffer>(*n->volume->store, opts_.stage_memory);
    ws.staged = true;
  } else {
    stage(n, ws);
  }
  ws.buf->truncate(size);
  ws.size = size;
  ws.data_bytes = ws.buf->data_bytes();
  ws.mtime_ns = now_ns();
  ws.dirty = true;
}

void Filesystem::commit(Node* n, WriteState& ws) {
  if (!ws.dirty) return;
  std::string id;
  bool removed;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    removed = n->removed;
    if (!removed) id = InodeTable::id_of(n);
  }
  if (removed) {  // unlinked or replaced while open: nothing to keep
    ws.dirty = false;
    return;
  }
  Store& store = *n->volume->store;
  DocumentMeta meta;
  if (auto old = store.meta(id)) {
    meta = std::move(*old);  // keeps mode, owner and xattrs
  } else {
    meta.uid = owner_uid_;
    meta.gid = owner_gid_;
  }
  meta.id = id;
  meta.mtime_ns = ws.mtime_ns;
  meta.ctime_ns = now_ns();
  ws.buf->commit(meta);
  ws.dirty = false;
  changed(n->volume);
  attr_changed(n->ino);  // size and times changed outside any reply: drop the kernel's copy
  std::lock_guard<std::mutex> lk(table_.mutex());
  ++n->version;
  DOCFS_LOG_DEBUG("committed %s (%lu bytes)", id.c_str(), static_cast<unsigned long>(ws.buf->size()));
}

void Filesystem::commit_node(Node* n) {
  std::shared_ptr<WriteState> ws;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    ws = n->write;
  }
  if (!ws) return;
  {
    // Work proportional to the data (CRCs of split extents, bytes a prune moved) happens
    // here, without the namespace lock, so mkdir and rename elsewhere never wait for it.
    std::lock_guard<std::mutex> wl(ws->mu);
    if (ws->dirty && ws->buf) ws->buf->prepare();
  }
  std::shared_lock<std::shared_mutex> ns(ns_mu_);
  std::lock_guard<std::mutex> wl(ws->mu);
  commit(n, *ws);
}

void Filesystem::drop_write_handle(Node* n) {
  std::lock_guard<std::mutex> lk(table_.mutex());
  if (!n->write) return;
  if (--n->write->writers > 0) return;
  if (n->write->dirty && !n->removed)
    DOCFS_LOG_ERROR("inode %lu: staged changes dropped after a failed commit", n->ino);
  n->write.reset();
  table_.maybe_erase(n);
}

// Opens `n` and returns the new handle; the caller replies.
static std::unique_ptr<FileHandle> new_handle(Node* n, int flags) {
  auto fh = std::make_unique<FileHandle>();
  fh->node = n;
  fh->writable = (flags & O_ACCMODE) != O_RDONLY;
  fh->append = (flags & O_APPEND) != 0;
  return fh;
}

void Filesystem::open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  prepare(ino);
  Node* n;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    n = node_locked(ino);
  }
  if (n->is_dir) fail(EISDIR);
  auto fh = new_handle(n, fi->flags);
  if (fh->writable) require_writable(n);
  std::shared_lock<std::shared_mutex> ns(ns_mu_);
  std::shared_ptr<WriteState> ws;
  std::string id;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    if (fh->writable) {
      if (!n->write) n->write = std::make_shared<WriteState>();
      ws = n->write;
      ++ws->writers;
    }
    ++n->open_count;
    if (!n->removed) {
      id = InodeTable::id_of(n);
    } else if (!fh->writable) {
      fh->content = n->orphan_content;
    }
  }
  try {
    if (ws && (fi->flags & O_TRUNC)) {
      std::lock_guard<std::mutex> wl(ws->mu);
      truncate_staged(n, *ws, 0);
    }
    if (!fh->writable && !id.empty()) fh->content = n->volume->store->content(id);
  } catch (...) {
    if (ws) drop_write_handle(n);
    std::lock_guard<std::mutex> lk(table_.mutex());
    --n->open_count;
    throw;
  }
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    // Unchanged since the previous open: the kernel may keep its cached pages.
    fi->keep_cache = n->cached_version == n->version;
    n->cached_version = n->version;
  }
  fi->noflush = !fh->writable;  // flush commits staged writes only: no round trip at close
  fi->fh = reinterpret_cast<uint64_t>(fh.release());
  if (fuse_reply_open(req, fi) == -ENOENT) {  // interrupted: the kernel never saw it
    release(nullptr, ino, fi);
  }
}

void Filesystem::create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                        fuse_file_info* fi) {
  prepare(parent);
  fuse_entry_param e{};
  Node* n = nullptr;
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* dir = node_locked(parent);
    if (!dir->is_dir) fail(ENOTDIR);
    if (dir->remote_folder) fail(EPERM);  // .remote/ holds only keys (directories)
    if (reserved_name_locked(dir, name)) fail(EEXIST);
    std::string id = child_id_locked(dir, name);
    require_writable(dir);
    n = InodeTable::child(dir, name);
    if (n) {
      if (fi->flags & O_EXCL) fail(EEXIST);
      if (n->is_dir) fail(EISDIR);
    } else {
      const fuse_ctx* ctx = fuse_req_ctx(req);
      Document doc;
      doc.meta.id = id;
      doc.meta.mode = S_IFREG | (mode & 07777);
      doc.meta.mime_type = guess_mime(name);  // as docfs put does
      doc.meta.uid = ctx->uid;
      doc.meta.gid = ctx->gid;
      doc.meta.mtime_ns = doc.meta.ctime_ns = now_ns();
      // Unflushed: the commit at close flushes it along with the content.
      dir->volume->store->put(doc, false);
      changed(dir->volume);
      n = table_.add_child(dir, name, false);
      InodeTable::entries_changed(dir, doc.meta.mtime_ns);
      fi->flags |= O_TRUNC;  // new and empty: close commits (and flushes) it
    }
    e = entry_locked(n);
  }
  try {
    auto fh = new_handle(n, fi->flags);
    std::shared_ptr<WriteState> ws;
    {
      std::lock_guard<std::mutex> lk(table_.mutex());
      if (!n->write) n->write = std::make_shared<WriteState>();
      ws = n->write;
      ++ws->writers;
      ++n->open_count;
      n->cached_version = n->version;
    }
    if (fi->flags & O_TRUNC) {
      std::lock_guard<std::mutex> wl(ws->mu);
      truncate_staged(n, *ws, 0);
    }
    fh->writable = true;  // create always has a write handle in practice
    fi->fh = reinterpret_cast<uint64_t>(fh.release());
  } catch (...) {
    forget(n->ino, 1);
    throw;
  }
  if (fuse_reply_create(req, &e, fi) == -ENOENT) release(nullptr, n->ino, fi);
}

void Filesystem::read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      fuse_file_info* fi) {
  (void)ino;
  FileHandle* fh = handle_of(fi);
  Node* n = fh->node;
  std::optional<ContentRef> fresh;
  const std::optional<ContentRef>* content = &fh->content;
  if (fh->writable) {
    std::shared_ptr<WriteState> ws;
    {
      std::lock_guard<std::mutex> lk(table_.mutex());
      ws = n->write;
    }
    if (ws) {
      std::lock_guard<std::mutex> wl(ws->mu);
      if (ws->buf) {  // read your own writes
        std::vector<char> data(size);
        size_t got = ws->buf->read(static_cast<uint64_t>(off), data.data(), size);
        fuse_reply_buf(req, data.data(), got);
        return;
      }
    }
    std::string id;
    {
      std::lock_guard<std::mutex> lk(table_.mutex());
      if (!n->removed) {
        id = InodeTable::id_of(n);
      } else {
        fresh = n->orphan_content;
      }
    }
    if (!id.empty()) fresh = n->volume->store->content(id);
    content = &fresh;
  }
  if (!*content || static_cast<uint64_t>(off) >= (*content)->size()) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  reply_content(req, **content, static_cast<uint64_t>(off), size);
}

void Filesystem::reply_content(fuse_req_t req, const ContentRef& c, uint64_t off, size_t size) {
  // Point the kernel at body.bin itself: with splice, the bytes never enter user space.
  // A version with extents is a vector of pieces; holes come from a zero page buffer.
  static const std::vector<char> zeros(1u << 20);
  std::vector<ContentRef::Piece> pieces = c.map(off, size);
  size_t bufs = 0;
  for (const ContentRef::Piece& p : pieces) bufs += p.hole ? (p.len + zeros.size() - 1) / zeros.size() : 1;
  std::vector<char> storage(sizeof(fuse_bufvec) + bufs * sizeof(fuse_buf));
  auto* bv = new (storage.data()) fuse_bufvec{};
  for (const ContentRef::Piece& p : pieces) {
    for (uint64_t done = 0; done < p.len;) {
      fuse_buf& b = bv->buf[bv->count++];
      b = fuse_buf{};
      if (p.hole) {
        b.size = static_cast<size_t>(std::min<uint64_t>(p.len - done, zeros.size()));
        b.mem = const_cast<char*>(zeros.data());
      } else {
        b.size = static_cast<size_t>(p.len);
        b.flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
        b.fd = c.fd();
        b.pos = static_cast<off_t>(p.body_off);
      }
      done += b.size;
    }
  }
  fuse_reply_data(req, bv, FUSE_BUF_SPLICE_MOVE);
}

void Filesystem::write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
                       off_t off, fuse_file_info* fi) {
  (void)ino;
  FileHandle* fh = handle_of(fi);
  if (!fh->writable) fail(EBADF);
  Node* n = fh->node;
  std::shared_lock<std::shared_mutex> ns(ns_mu_);
  std::shared_ptr<WriteState> ws;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    ws = n->write;
  }
  if (!ws) fail(EBADF);
  {
    std::lock_guard<std::mutex> wl(ws->mu);
    stage(n, *ws);
    uint64_t at = fh->append ? ws->buf->size() : static_cast<uint64_t>(off);
    if (at + size > format::kMaxContentSize) fail(EFBIG);
    ws->buf->write(at, buf, size);
    ws->size = ws->buf->size();
    ws->data_bytes = ws->buf->data_bytes();
    ws->mtime_ns = now_ns();
    ws->dirty = true;
  }
  fuse_reply_write(req, size);
}

void Filesystem::flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)ino;
  FileHandle* fh = handle_of(fi);
  if (fh->writable) commit_node(fh->node);
  fuse_reply_err(req, 0);
}

void Filesystem::release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)ino;
  std::unique_ptr<FileHandle> fh(handle_of(fi));
  Node* n = fh->node;
  if (fh->writable) {
    try {
      commit_node(n);  // normally done by flush already
    } catch (const Error& e) {
      DOCFS_LOG_ERROR("inode %lu: commit at release failed: %s", n->ino, e.what());
    }
    drop_write_handle(n);
  }
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    --n->open_count;
    table_.maybe_erase(n);
  }
  if (req) fuse_reply_err(req, 0);
}

void Filesystem::fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  (void)ino;
  (void)datasync;
  FileHandle* fh = handle_of(fi);
  if (fh->writable) commit_node(fh->node);
  if (!store().read_only()) fh->node->volume->store->sync();
  // Under .remote/<key>/: returns once the key is pushed (EIO if that failed).
  if (RemoteKey* key = fh->node->volume->key) push_now(*key);
  fuse_reply_err(req, 0);
}

void Filesystem::lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  (void)ino;
  if (whence != SEEK_DATA && whence != SEEK_HOLE) fail(EINVAL);  // the kernel does the rest
  if (off < 0) fail(ENXIO);
  FileHandle* fh = handle_of(fi);
  Node* n = fh->node;
  const uint64_t from = static_cast<uint64_t>(off);
  uint64_t size = 0, found = 0;
  std::shared_ptr<WriteState> ws;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    ws = n->write;
  }
  bool answered = false;
  if (ws && fh->writable) {
    std::lock_guard<std::mutex> wl(ws->mu);
    if (ws->buf) {
      size = ws->buf->size();
      if (from < size) found = whence == SEEK_DATA ? ws->buf->seek_data(from) : ws->buf->seek_hole(from);
      answered = true;
    }
  }
  if (!answered) {
    std::optional<ContentRef> content = fh->content;
    if (fh->writable) {
      std::lock_guard<std::mutex> lk(table_.mutex());
      content = n->removed ? n->orphan_content : std::nullopt;
      if (!n->removed) {
        std::string id = InodeTable::id_of(n);
        content = n->volume->store->content(id);
      }
    }
    size = content ? content->size() : 0;
    if (content && from < size) found = whence == SEEK_DATA ? content->seek_data(from) : content->seek_hole(from);
  }
  // Past the end, or no data after `off`: ENXIO (lseek(2)). The end is a hole.
  if (from >= size || (whence == SEEK_DATA && found >= size)) fail(ENXIO);
  fuse_reply_lseek(req, static_cast<off_t>(found));
}

void Filesystem::fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                           fuse_file_info* fi) {
  (void)ino;
  FileHandle* fh = handle_of(fi);
  if (!fh->writable) fail(EBADF);
  if (offset < 0 || length <= 0) fail(EINVAL);
  const uint64_t off = static_cast<uint64_t>(offset), len = static_cast<uint64_t>(length);
  if (off + len > format::kMaxContentSize) fail(EFBIG);
  const bool keep_size = mode & FALLOC_FL_KEEP_SIZE;
  const bool punch = mode & FALLOC_FL_PUNCH_HOLE, zero = mode & FALLOC_FL_ZERO_RANGE;
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) fail(EOPNOTSUPP);
  if (punch && !keep_size) fail(EINVAL);  // as fallocate(2)
  Node* n = fh->node;
  std::shared_lock<std::shared_mutex> ns(ns_mu_);
  std::shared_ptr<WriteState> ws;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    ws = n->write;
  }
  if (!ws) fail(EBADF);
  {
    std::lock_guard<std::mutex> wl(ws->mu);
    stage(n, *ws);
    // docfs reserves no space ahead (body.bin is append-only): plain allocation only
    // sets the size; the range reads as zeros, as it must.
    if (punch || zero) ws->buf->punch_hole(off, len);
    if (!keep_size && off + len > ws->buf->size()) ws->buf->truncate(off + len);
    ws->size = ws->buf->size();
    ws->data_bytes = ws->buf->data_bytes();
    ws->mtime_ns = now_ns();
    ws->dirty = true;
  }
  fuse_reply_err(req, 0);
}

}  // namespace docfs::fs
