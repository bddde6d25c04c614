// The filesystem proper: FUSE low-level request handlers over one Store.
//
// Locking, outermost first:
//   ns_mu_ (shared_mutex)  exclusive for operations that change which id a node has
//                          (create, mkdir, unlink, rmdir, rename, marker creation);
//                          shared for operations that write under a node's id
//                          (write, commit, setattr, setxattr), so ids stay put meanwhile
//   WriteState::mu         one inode's staging buffer and commits
//   table mutex            the node tree; held briefly, never across long store writes
//
// Every handler may throw docfs::Error; operations.cc turns that into fuse_reply_err.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <shared_mutex>
#include <string>
#include <sys/stat.h>

#include <thread>

#include "core/store.h"
#include "fs/handles.h"
#include "fs/inode_table.h"
#include "fs/options.h"
#include "fs/remote_key.h"

namespace docfs::fs {

class RemoteSync;

// The name of the virtual folder at the mount root that shows the remote's keys.
inline constexpr const char* kRemoteFolder = ".remote";
// Longest time the kernel may cache names and attributes under .remote/: another mount's
// push replaces a key's tree there at a revalidation the kernel cannot be told about in
// advance, so those caches expire on their own (besides the invalidation at the swap).
inline constexpr double kRemoteCacheSeconds = 1.0;

class Filesystem {
 public:
  Filesystem(Store* store, const MountOptions& opts);
  ~Filesystem();

  // The handler table for fuse_session_new (operations.cc).
  static const fuse_lowlevel_ops* operations();

  void set_session(fuse_session* se) { session_ = se; }
  // Commits every staged change and syncs the store (unmount, SIGTERM).
  void flush_all();
  Store& store() { return *table_.main_volume().store; }
  // Before a handler touches a node under .remote/<key>/: makes sure the key's cache is
  // open (pulling it the first time) and revalidated. May block on the network.
  void prepare(fuse_ino_t ino);

  // ---- handlers ----
  void init(fuse_conn_info* conn);
  void lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void forget(fuse_ino_t ino, uint64_t nlookup);
  void getattr(fuse_req_t req, fuse_ino_t ino);
  void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* fi);
  void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
  void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
  void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned flags);
  void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi);
  void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
  void write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi);
  void flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
  void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
  void symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name);
  void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
  void readlink(fuse_req_t req, fuse_ino_t ino);
  void lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi);  // SEEK_DATA/HOLE
  void fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info* fi);
  void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
               bool plus);
  void releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
  void statfs(fuse_req_t req, fuse_ino_t ino);
  void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
                size_t size, int flags);
  void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
  void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
  void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name);

 private:
  // Helpers; "_locked" ones need the table mutex.
  Node* node_locked(fuse_ino_t ino);
  struct stat attr_locked(const Node* n);
  fuse_entry_param entry_locked(Node* n);  // counts a lookup
  std::string child_id_locked(const Node* dir, std::string_view name);
  void require_writable(const Node* n) const;
  // Writes a directory marker for an implicit directory about to become empty, so it
  // survives a remount like a directory made with mkdir. ns_mu_ exclusive + table lock.
  void keep_directory_locked(Node* dir);
  // Remembers a file's content and attributes before it is removed from the tree.
  void orphan_locked(Node* n);
  // Loads the committed content into ws.buf if not staged yet. ns shared + ws.mu.
  void stage(Node* n, WriteState& ws);
  // Sets the staged size (O_TRUNC, ftruncate); the caller holds ws.mu.
  void truncate_staged(Node* n, WriteState& ws, uint64_t size);
  // Appends the staged content as a new version if dirty. ns shared + ws.mu.
  void commit(Node* n, WriteState& ws);
  void commit_node(Node* n);  // takes the locks itself
  void drop_write_handle(Node* n);
  // Creates a document of any non-directory type under parent and replies with its entry.
  void make_special(fuse_req_t req, fuse_ino_t parent, const char* name, uint32_t mode, uint64_t rdev,
                    std::string_view content);
  // Replies with [off, off+size) of c: body.bin pieces by fd (splice), holes as zeros.
  void reply_content(fuse_req_t req, const ContentRef& c, uint64_t off, size_t size);
  void update_meta_of(Node* n, const std::function<void(DocumentMeta&)>& change);

  // ---- .remote/ (fs/remote_ops.cc) ----
  void ensure_key(RemoteKey& k);
  // A cached key the remote no longer has (remote_ttl since its last check): drops it and
  // returns true. No locks held by the caller.
  bool forget_if_lost(RemoteKey& k);
  void changed(const Volume* v);  // a store write under v: marks its key dirty
  bool is_remote_folder(fuse_ino_t ino) const { return remote_dir_ && ino == remote_dir_->ino; }
  bool reserved_name_locked(const Node* dir, std::string_view name);
  bool is_key_root(const Node* n) const { return n->volume->key && n == n->volume->root; }
  void lookup_key(fuse_req_t req, const char* name);
  void refresh_remote_folder();
  void mkdir_key(fuse_req_t req, const char* name);
  void rmdir_key(fuse_req_t req, const char* name);
  // The root node of key k, grafted under .remote/ if it is not there. ns excl + table.
  Node* key_root_locked(RemoteKey& k);
  void drop_key_tree_locked(RemoteKey& k);
  std::optional<std::string> key_xattr(RemoteKey& k, std::string_view name);
  // Pushes the key now (fsync); throws Error(EIO) when the push fails.
  void push_now(RemoteKey& k);

  // Drops the kernel's cached attributes of `ino` after the daemon changed them other
  // than in the reply to the request that changed them (a commit at close, a setxattr's
  // ctime). Call without the table mutex; safe from any handler.
  void attr_changed(fuse_ino_t ino);

  // ---- kernel cache invalidation for changes the daemon makes on its own ----
  // The kernel caches names and attributes for a long time (attr_timeout/entry_timeout,
  // one day by default). Changes made through the mount are in the replies, and the
  // kernel updates its caches itself; what the daemon changes on its own (a .remote/ key's
  // tree replaced by a revalidation, a key dropped, attributes after a compaction) is
  // told to the kernel with these. They queue the notification for a separate thread:
  // fuse_lowlevel_notify_inval_entry takes the directory's inode lock in the kernel, which
  // a request being served (a lookup in that directory) may hold while it waits for us.
  // Safe with any lock held.
  void inval_entry_async(fuse_ino_t parent, std::string name);
  void inval_inode_async(fuse_ino_t ino, bool pages);  // pages: also cached data/listing
  // After an online compaction (the compactor's hook): re-read attributes once.
  void compacted();
  void inval_loop();
  void stop_invalidator();
  // How long the kernel may cache n's attributes / its name (short under .remote/).
  double attr_timeout_of(const Node* n) const;
  double entry_timeout_of(const Node* n) const;
  bool short_lived(const Node* n) const { return n->remote_folder || n->volume->key; }

  struct Inval {
    fuse_ino_t ino;  // the inode, or the parent for an entry
    std::string name;  // empty: an inode
    bool pages;
  };
  std::mutex inval_mu_;
  std::condition_variable inval_cv_;
  std::deque<Inval> inval_q_;
  bool inval_stop_ = false;
  std::thread inval_thread_;

  InodeTable table_;
  std::unique_ptr<RemoteSync> remote_;
  Node* remote_dir_ = nullptr;
  MountOptions opts_;
  std::shared_mutex ns_mu_;
  fuse_session* session_ = nullptr;
  uid_t owner_uid_;
  gid_t owner_gid_;
  int64_t mount_time_ns_;
  // The mount root's mode, owner and times (guarded by the table mutex), kept in the
  // store as the directory marker kRootMetaId once changed.
  Stat root_attr_;
};

}  // namespace docfs::fs
