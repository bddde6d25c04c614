// The mount's directory tree: one Node per file or directory, numbered with stable inode
// numbers for the life of the mount (numbers are never reused, so generation is 0).
//
// A tree is made of volumes. Volume 0 is the mounted store, rooted at FUSE_ROOT_ID; a
// node's document id is its path relative to its volume's root. Later virtual subtrees
// (the .remote/<key>/ folders) become further volumes with their own Store and root node
// grafted into the tree, so every operation asks node->volume for the store to use.
//
// Not thread-safe: callers hold mutex() while they read or change nodes.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/store.h"

namespace docfs::fs {

// The document that holds the mount root's mode, owner, times and extended attributes:
// a directory marker with this id. It is not shown in any volume's tree (the root has no
// id of its own), and the name is reserved at the root.
inline constexpr std::string_view kRootMetaId = ".docfs-root";

struct WriteState;  // fs/handles.h
struct RemoteKey;   // fs/remote_key.h

struct Volume {
  Store* store = nullptr;     // nullptr for a remote key until its cache is open
  struct Node* root = nullptr;
  RemoteKey* key = nullptr;   // the .remote/<key> this volume shows; nullptr for volume 0
};

struct Node {
  fuse_ino_t ino = 0;
  Volume* volume = nullptr;
  Node* parent = nullptr;  // nullptr for a volume root and for removed nodes
  std::string name;
  bool is_dir = false;
  bool explicit_dir = false;  // a directory marker document exists (mkdir'd)
  bool removed = false;       // unlinked / replaced, kept while the kernel knows it
  bool remote_folder = false; // the virtual .remote/ directory (no document, no store)
  std::map<std::string, Node*, std::less<>> children;
  // A file's other names (hard links): (directory, name) pairs besides parent/name, each
  // listed in that directory's children. parent/name is the name id_of() gives; every
  // name reaches the same file in the store. Directories have none.
  std::vector<std::pair<Node*, std::string>> links;
  uint64_t nlookup = 0;    // the kernel's lookup count
  uint32_t open_count = 0; // open file and directory handles
  // Content version counter: bumped on every committed change. The kernel keeps its
  // page cache at open (keep_cache) only if nothing changed since the previous open.
  uint64_t version = 0;
  uint64_t cached_version = UINT64_MAX;
  std::shared_ptr<WriteState> write;  // while open for writing
  Stat last_stat;  // what getattr last saw: fstat of an unlinked but open file
  // The content a removed file had. The kernel may open a node it looked up just before
  // an unlink or rename-over removed it; that open sees the old bytes, as locally.
  std::optional<ContentRef> orphan_content;
  // Times this mount changed without writing a store record (0: none): a directory's
  // mtime and ctime when an entry is added or removed, a node's ctime when it is renamed,
  // unlinked or truncated while open. attr shows the later of these and the stored times.
  // A record per namespace change would cost a metadata version each, so they live here
  // for the life of the mount; a remount shows the stored times (SEMANTICS.md).
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
};

class InodeTable {
 public:
  // Creates volume 0 for `store` and builds its tree from the store's ids.
  explicit InodeTable(Store* store);

  std::mutex& mutex() { return mu_; }
  Node* root() { return root_; }
  Volume& main_volume() { return volumes_.front(); }
  // A new volume (for a .remote/<key>) with no root yet.
  Volume* add_volume(RemoteKey* key);
  // A directory node below `parent` that is not one of its children (not listed, not a
  // document): the .remote/ folder.
  Node* add_hidden_dir(Node* parent, std::string name);
  // Makes a new root for `vol` as the child `name` of `dir` (a .remote/<key> folder) and
  // loads its tree if the volume has a store.
  Node* graft_root(Volume* vol, Node* dir, std::string name);
  // Builds the tree below vol.root from its store (the root must have no children).
  void load_volume(Volume& vol) { load(vol); }
  // Marks every node below `dir` removed (the tree is replaced by a fresh pull); calls
  // `on_file` for each file first so it can keep the content open handles still see.
  void detach_children(Node* dir, const std::function<void(Node*)>& on_file);

  Node* get(fuse_ino_t ino);
  static Node* child(Node* dir, std::string_view name);
  // Adds a new child (caller checked it does not exist).
  Node* add_child(Node* dir, std::string name, bool is_dir);
  // Takes `n` out of the tree with all its names (rmdir, a replaced tree).
  void remove(Node* n);
  void move(Node* n, Node* new_parent, std::string new_name);
  // Hard links. add_link: `name` in `dir` becomes another name of file n.
  void add_link(Node* n, Node* dir, std::string name);
  // Takes one name of n away (unlink, replaced by rename); n itself goes with its last name.
  void remove_name(Node* n, Node* dir, std::string_view name);
  // Moves one name of n (rename of that name).
  void move_name(Node* n, Node* from_dir, std::string_view from_name, Node* to_dir, std::string to_name);
  static bool has_other_names(const Node* n) { return !n->links.empty(); }
  static uint32_t name_count(const Node* n) { return static_cast<uint32_t>(n->links.size()) + 1; }
  // Decrements the lookup count; frees removed nodes nobody references any more.
  void forget(Node* n, uint64_t count);
  void maybe_erase(Node* n);

  // A directory gained or lost an entry at `now`: its mtime and ctime change (POSIX).
  static void entries_changed(Node* dir, int64_t now);
  // The node's status (name, size, links) changed at `now`: its ctime changes.
  static void status_changed(Node* n, int64_t now);

  // The document id of a node: its path from its volume root.
  static std::string id_of(const Node* n);
  // The document id of the entry `name` in directory `dir` (one name of a linked file).
  static std::string id_in(const Node* dir, std::string_view name);
  // True if `n` is `ancestor` or below it.
  static bool is_within(const Node* n, const Node* ancestor);
  // Every document id in a subtree (files and directory markers), parents first.
  static void collect_ids(const Node* dir, std::vector<std::string>& out);

  size_t size() const { return nodes_.size(); }
  // Nodes that currently have a write state (for the final flush).
  std::vector<Node*> nodes_with_writes() const;

 private:
  void load(Volume& vol);
  Node* make_node(Volume* vol, bool is_dir);

  std::mutex mu_;
  std::unordered_map<fuse_ino_t, std::unique_ptr<Node>> nodes_;
  std::deque<Volume> volumes_;  // a deque: Volume pointers held by nodes stay valid
  Node* root_ = nullptr;
  fuse_ino_t next_ino_ = FUSE_ROOT_ID;
};

}  // namespace docfs::fs
