// Shared helpers, init, attributes and metadata changes. File data handlers are in
// file_ops.cc, namespace handlers in dir_ops.cc, xattrs in xattr_ops.cc.
#include "fs/filesystem.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "fs/compactor.h"
#include "fs/errors.h"
#include "fs/log.h"
#include "fs/remote_sync.h"

namespace docfs::fs {

Filesystem::Filesystem(Store* store, const MountOptions& opts)
    : table_(store), opts_(opts), owner_uid_(getuid()), owner_gid_(getgid()),
      mount_time_ns_(now_ns()) {
  root_attr_ = Stat{0, S_IFDIR | 0755, owner_uid_, owner_gid_, mount_time_ns_, mount_time_ns_, 0};
  if (auto st = store->stat(kRootMetaId); st && st->is_directory_marker()) root_attr_ = *st;
  DOCFS_LOG_INFO("loaded %zu nodes from %s", table_.size(), store->dir().c_str());
  Compactor::set_on_compacted([this] { compacted(); });
  try {
    remote_ = std::make_unique<RemoteSync>(opts, store->dir());
  } catch (const Error& e) {
    if (!opts.remote_url.empty()) throw;  // the user asked for this remote
    DOCFS_LOG_WARN("no .remote/ folder: %s", e.what());
    return;
  }
  if (table_.root()->children.count(kRemoteFolder))
    DOCFS_LOG_WARN("the store's own %s/ is hidden by the virtual .remote/ folder", kRemoteFolder);
  remote_dir_ = table_.add_hidden_dir(table_.root(), kRemoteFolder);
  remote_dir_->remote_folder = true;
  remote_->start();
  DOCFS_LOG_INFO(".remote/ shows the keys of %s", remote_->url().c_str());
}

Filesystem::~Filesystem() {
  Compactor::set_on_compacted(nullptr);
  stop_invalidator();
}

double Filesystem::attr_timeout_of(const Node* n) const {
  return short_lived(n) ? std::min(opts_.attr_timeout, kRemoteCacheSeconds) : opts_.attr_timeout;
}

double Filesystem::entry_timeout_of(const Node* n) const {
  return short_lived(n) ? std::min(opts_.entry_timeout, kRemoteCacheSeconds) : opts_.entry_timeout;
}

void Filesystem::inval_entry_async(fuse_ino_t parent, std::string name) {
  std::lock_guard<std::mutex> l(inval_mu_);
  if (inval_stop_ || !inval_thread_.joinable()) return;  // not mounted (yet / any more)
  inval_q_.push_back({parent, std::move(name), false});
  inval_cv_.notify_one();
}

void Filesystem::inval_inode_async(fuse_ino_t ino, bool pages) {
  std::lock_guard<std::mutex> l(inval_mu_);
  if (inval_stop_ || !inval_thread_.joinable()) return;
  inval_q_.push_back({ino, std::string(), pages});
  inval_cv_.notify_one();
}

void Filesystem::inval_loop() {
  std::unique_lock<std::mutex> l(inval_mu_);
  for (;;) {
    inval_cv_.wait(l, [this] { return inval_stop_ || !inval_q_.empty(); });
    if (inval_stop_) return;
    Inval iv = std::move(inval_q_.front());
    inval_q_.pop_front();
    l.unlock();
    int rc = 0;
    if (session_ && !fuse_session_exited(session_)) {
      rc = iv.name.empty()
               ? fuse_lowlevel_notify_inval_inode(session_, iv.ino, iv.pages ? 0 : -1, 0)
               : fuse_lowlevel_notify_inval_entry(session_, iv.ino, iv.name.c_str(), iv.name.size());
    }
    if (rc != 0 && rc != -ENOENT)  // ENOENT: the kernel does not know it (any more)
      DOCFS_LOG_DEBUG("invalidating %lu%s%s: %s", iv.ino, iv.name.empty() ? "" : "/",
                      iv.name.c_str(), strerror(-rc));
    l.lock();
  }
}

void Filesystem::stop_invalidator() {
  {
    std::lock_guard<std::mutex> l(inval_mu_);
    inval_stop_ = true;
    inval_q_.clear();
    inval_cv_.notify_all();
  }
  if (inval_thread_.joinable()) inval_thread_.join();
}

void Filesystem::compacted() {
  // A compaction moves content to a new body.bin; names, sizes, modes and times stay what
  // they were, and so does every byte of content, so the kernel's pages stay valid. Its
  // cached attributes are dropped all the same, so that anything derived from the store's
  // records is re-read once (one getattr per file the kernel knows, after a compaction).
  std::vector<fuse_ino_t> known;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    std::vector<const Node*> todo{table_.root()};  // the mounted store's tree (.remote/ is not in it)
    while (!todo.empty()) {
      const Node* d = todo.back();
      todo.pop_back();
      if (d->nlookup > 0 || d == table_.root()) known.push_back(d->ino);
      for (const auto& [name, c] : d->children) todo.push_back(c);
    }
  }
  for (fuse_ino_t ino : known) inval_inode_async(ino, false);
  DOCFS_LOG_DEBUG("compaction: dropped the kernel's attributes of %zu inodes", known.size());
}

void Filesystem::init(fuse_conn_info* conn) {
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  want(FUSE_CAP_SPLICE_WRITE);  // reads answered from body.bin's fd get spliced
  want(FUSE_CAP_SPLICE_MOVE);
  want(FUSE_CAP_ATOMIC_O_TRUNC);  // open(O_TRUNC) without a separate truncate version
  want(FUSE_CAP_READDIRPLUS);
  // Always readdirplus, never the adaptive mode: that one sends plain readdirs after the
  // first batch until something is looked up, and `ls -l` reads the whole directory
  // before its first stat, so each entry past the first batch cost a LOOKUP. Attributes
  // come from memory here, so filling them costs the daemon almost nothing.
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  want(FUSE_CAP_ASYNC_READ);
  want(FUSE_CAP_PARALLEL_DIROPS);
  // The writeback cache would turn sequential writes into random ones and let the
  // kernel decide the size; staging wants every write as the application issued it.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->max_write = 1u << 20;
  {
    std::lock_guard<std::mutex> l(inval_mu_);
    if (!inval_thread_.joinable() && !inval_stop_) inval_thread_ = std::thread([this] { inval_loop(); });
  }
  DOCFS_LOG_DEBUG("init: want=%#x max_write=%u", conn->want, conn->max_write);
}

void Filesystem::flush_all() {
  stop_invalidator();  // the session is over: nothing left to tell the kernel
  std::vector<Node*> staged;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    // Nodes with a write state are never erased, so the pointers stay valid.
    staged = table_.nodes_with_writes();
  }
  for (Node* n : staged) {
    try {
      commit_node(n);
    } catch (const Error& e) {
      DOCFS_LOG_ERROR("committing inode %lu at unmount failed: %s", n->ino, e.what());
    }
  }
  if (!store().read_only()) {
    try {
      store().sync();
    } catch (const Error& e) {
      DOCFS_LOG_ERROR("final sync failed: %s", e.what());
    }
  }
  if (remote_) remote_->stop_and_flush();  // pending pushes finish before unmount does
}

Node* Filesystem::node_locked(fuse_ino_t ino) {
  Node* n = table_.get(ino);
  if (!n) fail(ESTALE);
  return n;
}

void Filesystem::require_writable(const Node* n) const {
  if (n->volume->store->read_only()) fail(EROFS);
}

std::string Filesystem::child_id_locked(const Node* dir, std::string_view name) {
  if (name.size() > kMaxIdPartBytes) fail(ENAMETOOLONG);
  if (name.empty() || name == "." || name == "..") fail(EINVAL);
  std::string id = InodeTable::id_of(dir);
  if (!id.empty()) id.push_back('/');
  id.append(name);
  if (id.size() > kMaxIdBytes) fail(ENAMETOOLONG);
  return id;
}

struct stat Filesystem::attr_locked(const Node* n) {
  struct stat st {};
  st.st_ino = n->ino;
  Store* store = n->volume->store;  // nullptr for a .remote/<key> root not opened yet
  Stat s;
  if (n->is_dir) {
    s.mode = S_IFDIR | 0755;
    s.uid = owner_uid_;
    s.gid = owner_gid_;
    s.mtime_ns = s.ctime_ns = mount_time_ns_;
    if (n == table_.main_volume().root) s = root_attr_;
    if (n->explicit_dir && !n->removed) {
      if (auto found = store->stat(InodeTable::id_of(n))) s = *found;
    }
    st.st_mode = S_IFDIR | (s.mode & 07777);
    // "." and the entry in the parent, plus each subdirectory's "..", as on ext4.
    nlink_t subdirs = 0;
    for (const auto& [name, c] : n->children) subdirs += c->is_dir;
    if (n == table_.root() && remote_dir_) ++subdirs;  // .remote/
    st.st_nlink = n->removed ? 0 : 2 + subdirs;
    st.st_size = 4096;
  } else {
    if (n->removed) {
      s = n->last_stat;
    } else if (auto found = store->stat(InodeTable::id_of(n))) {
      s = *found;
      const_cast<Node*>(n)->last_stat = s;
    } else {
      fail(ENOENT);
    }
    const uint32_t type = s.mode & S_IFMT;  // a symlink, FIFO, socket or device keeps its type
    st.st_mode = (type && type != S_IFDIR ? type : S_IFREG) | (s.mode & 07777);
    if ((type == S_IFCHR || type == S_IFBLK) && !n->removed)
      if (auto m = store->meta(InodeTable::id_of(n))) st.st_rdev = static_cast<dev_t>(m->rdev);
    st.st_nlink = n->removed ? 0 : s.nlink;
    st.st_size = static_cast<off_t>(s.size);
    uint64_t data = s.data_bytes;
    if (n->write && n->write->staged) {
      st.st_size = static_cast<off_t>(n->write->size.load());
      data = n->write->data_bytes.load();
      s.mtime_ns = n->write->mtime_ns.load();
    }
    st.st_blocks = static_cast<blkcnt_t>((data + 511) / 512);  // holes take no space
  }
  // Namespace changes, renames and open truncates keep their times in the node only.
  s.mtime_ns = std::max(s.mtime_ns, n->mtime_ns);
  s.ctime_ns = std::max(s.ctime_ns, n->ctime_ns);
  st.st_uid = opts_.uid ? *opts_.uid : s.uid;
  st.st_gid = opts_.gid ? *opts_.gid : s.gid;
  if (opts_.umask) st.st_mode &= ~*opts_.umask;
  st.st_mtim.tv_sec = s.mtime_ns / 1000000000;
  st.st_mtim.tv_nsec = s.mtime_ns % 1000000000;
  st.st_ctim.tv_sec = s.ctime_ns / 1000000000;
  st.st_ctim.tv_nsec = s.ctime_ns % 1000000000;
  st.st_atim = st.st_mtim;  // atime is not stored
  st.st_blksize = 1 << 16;
  if (n->is_dir) st.st_blocks = (st.st_size + 511) / 512;
  return st;
}

fuse_entry_param Filesystem::entry_locked(Node* n) {
  fuse_entry_param e{};
  e.attr = attr_locked(n);
  e.ino = n->ino;
  e.generation = 0;
  e.attr_timeout = attr_timeout_of(n);
  e.entry_timeout = entry_timeout_of(n);
  ++n->nlookup;
  return e;
}

void Filesystem::keep_directory_locked(Node* dir) {
  if (dir == dir->volume->root || dir->explicit_dir || dir->removed || !dir->children.empty())
    return;
  Document marker;
  marker.meta.id = InodeTable::id_of(dir);
  marker.meta.mode = S_IFDIR | 0755;
  marker.meta.uid = owner_uid_;
  marker.meta.gid = owner_gid_;
  marker.meta.mtime_ns = marker.meta.ctime_ns = now_ns();
  dir->volume->store->put(marker, false);
  dir->explicit_dir = true;
  changed(dir->volume);
}

void Filesystem::lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  std::string_view nm(name);
  if (nm.size() > kMaxIdPartBytes) fail(ENAMETOOLONG);
  if (is_remote_folder(parent)) return lookup_key(req, name);
  prepare(parent);
  fuse_entry_param e{};
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* dir = node_locked(parent);
    if (!dir->is_dir) fail(ENOTDIR);
    Node* n = reserved_name_locked(dir, nm) ? (nm == kRootMetaId ? nullptr : remote_dir_)
                                            : InodeTable::child(dir, nm);
    if (n) {
      e = entry_locked(n);
    } else {
      e.ino = 0;  // a negative entry the kernel may cache for entry_timeout
      e.entry_timeout = entry_timeout_of(dir);
    }
  }
  DOCFS_LOG_DEBUG("lookup %lu/%s -> %lu", parent, name, e.ino);
  fuse_reply_entry(req, &e);
}

void Filesystem::forget(fuse_ino_t ino, uint64_t nlookup) {
  std::lock_guard<std::mutex> lk(table_.mutex());
  if (Node* n = table_.get(ino)) table_.forget(n, nlookup);
}

void Filesystem::getattr(fuse_req_t req, fuse_ino_t ino) {
  struct stat st;
  double timeout;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* n = node_locked(ino);
    st = attr_locked(n);
    timeout = attr_timeout_of(n);
  }
  fuse_reply_attr(req, &st, timeout);
}

void Filesystem::update_meta_of(Node* n, const std::function<void(DocumentMeta&)>& change) {
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    if (n->remote_folder || is_key_root(n)) fail(EPERM);  // no document behind them
    if (n->removed) return;  // fchmod of an unlinked file: nothing left to record
  }
  Store& store = *n->volume->store;
  if (n->is_dir) {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    if (n == table_.main_volume().root) {
      // The mount root has no id: its mode, owner, times and xattrs are the directory
      // marker kRootMetaId (so cp -a and rsync -a into the root work, and a remount, a
      // push and a pull keep them).
      std::optional<DocumentMeta> stored = store.meta(kRootMetaId);
      DocumentMeta m;
      if (stored && (stored->mode & S_IFMT) == S_IFDIR) m = std::move(*stored);
      m.id = std::string(kRootMetaId);
      m.mode = root_attr_.mode;
      m.uid = root_attr_.uid;
      m.gid = root_attr_.gid;
      m.mtime_ns = std::max(root_attr_.mtime_ns, n->mtime_ns);
      change(m);
      m.mode = S_IFDIR | (m.mode & 07777);
      m.ctime_ns = now_ns();
      store.put(Document{m, ""});
      root_attr_.mode = m.mode;
      root_attr_.uid = m.uid;
      root_attr_.gid = m.gid;
      root_attr_.mtime_ns = m.mtime_ns;
      root_attr_.ctime_ns = m.ctime_ns;
      n->mtime_ns = n->ctime_ns = 0;
      changed(n->volume);
      return;
    }
    if (n == n->volume->root) fail(EPERM);  // a key's root has no document
    std::string id = InodeTable::id_of(n);
    std::optional<DocumentMeta> meta;
    if (n->explicit_dir) meta = store.meta(id);
    if (!meta) {  // an implicit directory becomes explicit to remember the change
      meta.emplace();
      meta->id = id;
      meta->mode = S_IFDIR | 0755;
      meta->uid = owner_uid_;
      meta->gid = owner_gid_;
      meta->mtime_ns = mount_time_ns_;
    }
    // The record takes over the times kept in memory, so that a later utimens to an
    // older mtime is not hidden by them.
    meta->mtime_ns = std::max(meta->mtime_ns, n->mtime_ns);
    change(*meta);
    meta->ctime_ns = now_ns();
    store.put(Document{*meta, ""});
    n->explicit_dir = true;
    n->mtime_ns = n->ctime_ns = 0;
    changed(n->volume);
    return;
  }
  std::shared_lock<std::shared_mutex> ns(ns_mu_);
  std::string id;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    id = InodeTable::id_of(n);
  }
  std::optional<DocumentMeta> meta = store.meta(id);
  if (!meta) fail(ENOENT);
  change(*meta);
  meta->ctime_ns = now_ns();
  store.update_meta(*meta);
  changed(n->volume);
}

void Filesystem::setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                         fuse_file_info* fi) {
  prepare(ino);
  Node* n;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    n = node_locked(ino);
  }
  constexpr int kMetaBits = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
                            FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW;
  if (to_set & (kMetaBits | FUSE_SET_ATTR_SIZE)) require_writable(n);

  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (n->is_dir) fail(EISDIR);
    std::shared_lock<std::shared_mutex> ns(ns_mu_);
    std::shared_ptr<WriteState> ws;
    bool temporary = false;
    {
      std::lock_guard<std::mutex> lk(table_.mutex());
      if (!n->write) {
        n->write = std::make_shared<WriteState>();
        temporary = true;  // truncate(2) by path: commit right away
      }
      ws = n->write;
      ++ws->writers;
    }
    try {
      std::lock_guard<std::mutex> wl(ws->mu);
      truncate_staged(n, *ws, static_cast<uint64_t>(attr->st_size));
      {
        // ftruncate: the commit comes at close, but ctime changes now.
        std::lock_guard<std::mutex> lk(table_.mutex());
        InodeTable::status_changed(n, now_ns());
      }
      if (!fi || temporary) commit(n, *ws);
    } catch (...) {
      drop_write_handle(n);
      throw;
    }
    drop_write_handle(n);
  }

  if (to_set & kMetaBits) {
    int64_t now = now_ns();
    int64_t mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW)
                        ? now
                        : static_cast<int64_t>(attr->st_mtim.tv_sec) * 1000000000 +
                              attr->st_mtim.tv_nsec;
    update_meta_of(n, [&](DocumentMeta& m) {
      if (to_set & FUSE_SET_ATTR_MODE) m.mode = (m.mode & S_IFMT) | (attr->st_mode & 07777);
      if (to_set & FUSE_SET_ATTR_UID) m.uid = attr->st_uid;
      if (to_set & FUSE_SET_ATTR_GID) m.gid = attr->st_gid;
      if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) m.mtime_ns = mtime;
    });
    if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
      std::lock_guard<std::mutex> lk(table_.mutex());
      if (n->write) n->write->mtime_ns = mtime;  // the pending commit keeps it
    }
  } else if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
    // atime is not stored, but utimens changes ctime all the same.
    std::lock_guard<std::mutex> lk(table_.mutex());
    InodeTable::status_changed(n, now_ns());
  }
  getattr(req, ino);
}

void Filesystem::attr_changed(fuse_ino_t ino) {
  // The kernel caches attributes for attr_timeout and takes them from replies; a change it
  // did not get in a reply (a commit at close, a setxattr's ctime) must drop that cache.
  // Offset -1 invalidates attributes only, never pages, so the kernel waits on nothing
  // and this is safe from any handler, also one for `ino` itself.
  if (!session_ || fuse_session_exited(session_)) return;  // unmounting: nobody caches
  int rc = fuse_lowlevel_notify_inval_inode(session_, ino, -1, 0);
  if (rc != 0 && rc != -ENOENT)  // ENOENT: the kernel has forgotten the inode
    DOCFS_LOG_DEBUG("invalidating the attributes of inode %lu: %s", ino, strerror(-rc));
}

void Filesystem::statfs(fuse_req_t req, fuse_ino_t ino) {
  (void)ino;
  struct statvfs sv {};
  if (::statvfs(store().dir().c_str(), &sv) != 0) fail(errno);
  sv.f_namemax = kMaxIdPartBytes;
  fuse_reply_statfs(req, &sv);
}

}  // namespace docfs::fs
