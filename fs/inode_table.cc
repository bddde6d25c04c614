#include "fs/inode_table.h"

#include <algorithm>
#include <unordered_map>

#include "fs/log.h"

namespace docfs::fs {

InodeTable::InodeTable(Store* store) {
  volumes_.push_back(Volume{store, nullptr});
  Volume& vol = volumes_.front();
  root_ = make_node(&vol, true);
  vol.root = root_;
  root_->nlookup = 1;  // the kernel never forgets the root
  load(vol);
}

Node* InodeTable::make_node(Volume* vol, bool is_dir) {
  auto node = std::make_unique<Node>();
  node->ino = next_ino_++;
  node->volume = vol;
  node->is_dir = is_dir;
  Node* raw = node.get();
  nodes_.emplace(raw->ino, std::move(node));
  return raw;
}

void InodeTable::load(Volume& vol) {
  size_t hidden = 0;
  std::unordered_map<uint64_t, Node*> files;  // Stat::file_id -> the node of a linked file
  vol.store->for_each([&](std::string_view id, const Stat& st) {
    if (id == kRootMetaId) return;  // the root's own attributes, not an entry
    Node* dir = vol.root;
    size_t start = 0;
    while (true) {
      size_t slash = id.find('/', start);
      std::string_view part = id.substr(start, slash == std::string_view::npos
                                                   ? std::string_view::npos
                                                   : slash - start);
      bool last = slash == std::string_view::npos;
      Node* n = child(dir, part);
      if (!last) {
        if (n && !n->is_dir && has_other_names(n)) {
          // Another name of that file stays a file: this one gives way to the directory.
          DOCFS_LOG_WARN("document %.*s is hidden: a directory of the same name exists",
                         static_cast<int>(start + part.size()), id.data());
          remove_name(n, dir, part);
          n = add_child(dir, std::string(part), true);
          ++hidden;
        } else if (n && !n->is_dir) {
          // A document "a" and a document "a/b": the directory wins, "a" is hidden.
          DOCFS_LOG_WARN("document %.*s is hidden: a directory of the same name exists",
                         static_cast<int>(start + part.size()), id.data());
          n->is_dir = true;
          ++hidden;
        } else if (!n) {
          n = add_child(dir, std::string(part), true);
        }
        dir = n;
        start = slash + 1;
        continue;
      }
      if (st.is_directory_marker()) {
        if (!n) n = add_child(dir, std::string(part), true);
        if (n->is_dir) n->explicit_dir = true;
      } else if (!n && st.file_id != 0) {  // one name of a file with several
        auto [it, first] = files.emplace(st.file_id, nullptr);
        // (A first name that a directory of the same name hid has become that directory.)
        if (first || it->second->is_dir)
          it->second = add_child(dir, std::string(part), false);
        else
          add_link(it->second, dir, std::string(part));
      } else if (!n) {
        add_child(dir, std::string(part), false);
      } else {
        DOCFS_LOG_WARN("document %.*s is hidden: a directory of the same name exists",
                       static_cast<int>(id.size()), id.data());
        ++hidden;
      }
      break;
    }
  });
  if (hidden) DOCFS_LOG_WARN("%zu documents hidden by directories", hidden);
}

Volume* InodeTable::add_volume(RemoteKey* key) {
  volumes_.push_back(Volume{nullptr, nullptr, key});
  return &volumes_.back();
}

Node* InodeTable::add_hidden_dir(Node* parent, std::string name) {
  Node* n = make_node(parent->volume, true);
  n->parent = parent;
  n->name = std::move(name);
  n->nlookup = 1;  // never erased
  return n;
}

Node* InodeTable::graft_root(Volume* vol, Node* dir, std::string name) {
  Node* n = make_node(vol, true);
  n->parent = dir;
  n->name = name;
  dir->children.emplace(std::move(name), n);
  vol->root = n;
  if (vol->store) load(*vol);
  return n;
}

void InodeTable::detach_children(Node* dir, const std::function<void(Node*)>& on_file) {
  std::vector<std::pair<std::string, Node*>> kids(dir->children.begin(), dir->children.end());
  for (auto& [name, c] : kids) {
    if (c->is_dir) {
      detach_children(c, on_file);
      remove(c);
    } else if (has_other_names(c)) {
      // Another name of the file may be outside this tree: only this name goes.
      remove_name(c, dir, name);
    } else {
      on_file(c);
      remove(c);
    }
  }
}

Node* InodeTable::get(fuse_ino_t ino) {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : it->second.get();
}

Node* InodeTable::child(Node* dir, std::string_view name) {
  auto it = dir->children.find(name);
  return it == dir->children.end() ? nullptr : it->second;
}

Node* InodeTable::add_child(Node* dir, std::string name, bool is_dir) {
  Node* n = make_node(dir->volume, is_dir);
  n->parent = dir;
  n->name = name;
  dir->children.emplace(std::move(name), n);
  return n;
}

void InodeTable::remove(Node* n) {
  if (n->parent) n->parent->children.erase(n->name);
  for (const auto& [dir, name] : n->links) dir->children.erase(name);
  n->links.clear();
  n->parent = nullptr;
  n->removed = true;
  maybe_erase(n);
}

void InodeTable::add_link(Node* n, Node* dir, std::string name) {
  dir->children.emplace(name, n);
  n->links.emplace_back(dir, std::move(name));
}

void InodeTable::remove_name(Node* n, Node* dir, std::string_view name) {
  if (n->parent == dir && n->name == name) {
    if (n->links.empty()) return remove(n);
    dir->children.erase(n->name);
    // Another name becomes the one id_of() gives.
    n->parent = n->links.back().first;
    n->name = std::move(n->links.back().second);
    n->links.pop_back();
    return;
  }
  for (auto it = n->links.begin(); it != n->links.end(); ++it) {
    if (it->first == dir && it->second == name) {
      dir->children.erase(it->second);
      n->links.erase(it);
      return;
    }
  }
}

void InodeTable::move_name(Node* n, Node* from_dir, std::string_view from_name, Node* to_dir, std::string to_name) {
  if (n->parent == from_dir && n->name == from_name) return move(n, to_dir, std::move(to_name));
  for (auto& [dir, name] : n->links) {
    if (dir == from_dir && name == from_name) {
      from_dir->children.erase(name);
      dir = to_dir;
      name = to_name;
      to_dir->children.emplace(std::move(to_name), n);
      return;
    }
  }
}

void InodeTable::move(Node* n, Node* new_parent, std::string new_name) {
  if (n->parent) n->parent->children.erase(n->name);
  n->parent = new_parent;
  n->name = new_name;
  new_parent->children.emplace(std::move(new_name), n);
}

void InodeTable::entries_changed(Node* dir, int64_t now) {
  dir->mtime_ns = now;
  dir->ctime_ns = now;
}

void InodeTable::status_changed(Node* n, int64_t now) { n->ctime_ns = now; }

void InodeTable::forget(Node* n, uint64_t count) {
  n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
  maybe_erase(n);
}

void InodeTable::maybe_erase(Node* n) {
  if (n->removed && n->nlookup == 0 && n->open_count == 0 && !n->write) nodes_.erase(n->ino);
}

std::vector<Node*> InodeTable::nodes_with_writes() const {
  std::vector<Node*> out;
  for (const auto& [ino, n] : nodes_) {
    (void)ino;
    if (n->write) out.push_back(n.get());
  }
  return out;
}

std::string InodeTable::id_of(const Node* n) {
  std::vector<const std::string*> parts;
  size_t len = 0;
  for (const Node* p = n; p && p != p->volume->root; p = p->parent) {
    parts.push_back(&p->name);
    len += p->name.size() + 1;
  }
  std::string id;
  id.reserve(len);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!id.empty()) id.push_back('/');
    id.append(**it);
  }
  return id;
}

std::string InodeTable::id_in(const Node* dir, std::string_view name) {
  std::string id = id_of(dir);
  if (!id.empty()) id.push_back('/');
  id.append(name);
  return id;
}

bool InodeTable::is_within(const Node* n, const Node* ancestor) {
  for (const Node* p = n; p; p = p->parent)
    if (p == ancestor) return true;
  return false;
}

void InodeTable::collect_ids(const Node* dir, std::vector<std::string>& out) {
  if (dir->explicit_dir) out.push_back(id_of(dir));
  for (const auto& [name, c] : dir->children) {
    (void)name;
    if (c->is_dir) {
      collect_ids(c, out);
    } else {
      out.push_back(id_in(dir, name));  // this name (a linked file has others elsewhere)
    }
  }
}

}  // namespace docfs::fs
