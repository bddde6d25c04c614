// The .remote/ folder: keys of the mount's remote as directories, each a volume whose
// store is a local cache (fs/remote_sync.h does the network side).
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "fs/errors.h"
#include "fs/filesystem.h"
#include "fs/log.h"
#include "fs/remote_sync.h"
#include "remote/docarray_object.h"
#include "remote/key_name.h"

namespace docfs::fs {

void Filesystem::changed(const Volume* v) {
  if (!v->key) return;
  std::lock_guard<std::mutex> lk(remote_->state_mu());
  remote_->note_change_locked(*v->key);
}

bool Filesystem::reserved_name_locked(const Node* dir, std::string_view name) {
  if (dir == table_.root() && name == kRootMetaId) return true;  // the root's attributes
  return remote_ && dir == table_.root() && name == kRemoteFolder;
}

void Filesystem::prepare(fuse_ino_t ino) {
  if (!remote_) return;
  RemoteKey* k;
  {
    std::lock_guard<std::mutex> lk(table_.mutex());
    Node* n = table_.get(ino);
    if (!n) return;
    k = n->volume->key;
  }
  if (k) ensure_key(*k);
}

Node* Filesystem::key_root_locked(RemoteKey& k) {
  if (k.volume && k.volume->root && !k.volume->root->removed) return k.volume->root;
  // A fresh volume each time: nodes of a deleted key's old tree keep their own.
  k.volume = table_.add_volume(&k);
  {
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    k.volume->store = k.store.get();
  }
  return table_.graft_root(k.volume, remote_dir_, k.name);
}

void Filesystem::drop_key_tree_locked(RemoteKey& k) {
  if (!k.volume || !k.volume->root) return;
  Node* root = k.volume->root;
  // The kernel may hold the key's name (and everything below it, which goes with it):
  // a later key of that name gets a new root inode.
  if (root->parent) inval_entry_async(root->parent->ino, root->name);
  table_.detach_children(root, [this](Node* f) { orphan_locked(f); });
  if (!root->removed) table_.remove(root);
  k.volume->root = nullptr;
}

void Filesystem::ensure_key(RemoteKey& k) {
  std::lock_guard<std::mutex> pl(k.pull_mu);
  bool open;
  {
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    if (k.gone) fail(ENOENT);
    open = k.store != nullptr;
  }
  if (!open) {
    remote_->open_cache(k);
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    Store* st;
    {
      std::lock_guard<std::mutex> sl(remote_->state_mu());
      st = k.store.get();
    }
    if (k.volume && k.volume->store != st) {
      k.volume->store = st;
      if (k.volume->root && k.volume->root->children.empty()) {
        table_.load_volume(*k.volume);
        inval_inode_async(k.volume->root->ino, true);  // attributes and listing
      }
    }
  }
  bool deleted = false;
  std::string etag;
  std::optional<std::string> dir = remote_->revalidate(k, &deleted, &etag);
  if (deleted) {
    DOCFS_LOG_INFO("key %s was deleted on %s: removing it from .remote/", k.name.c_str(), remote_->url().c_str());
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    if (k.dirty() || k.pushing) return;  // changed meanwhile: our push recreates it
    drop_key_tree_locked(k);
    remote_->forget_locked(k);
    fail(ENOENT);
  }
  if (!dir) return;
  std::unique_lock<std::shared_mutex> ns(ns_mu_);
  std::lock_guard<std::mutex> lk(table_.mutex());
  bool writing = false;
  for (Node* n : table_.nodes_with_writes()) writing |= n->volume == k.volume;
  std::lock_guard<std::mutex> sl(remote_->state_mu());
  if (writing || k.dirty() || k.pushing || !k.volume) {
    std::error_code ec;  // local changes win; the next push overrides the remote
    std::filesystem::remove_all(*dir, ec);
    return;
  }
  Store* st = remote_->install_locked(k, *dir, etag);
  // Old files keep the old store's content for open handles (orphan_locked reads it).
  if (Node* root = k.volume->root) {
    // Every node below gets a new inode: the kernel forgets the old names (each with what
    // is below it) and the root's attributes and listing. Under .remote/ its caches last
    // kRemoteCacheSeconds at most anyway; this makes the new tree show at once.
    for (const auto& [name, c] : root->children) inval_entry_async(root->ino, name);
    inval_inode_async(root->ino, true);
    table_.detach_children(root, [this](Node* f) { orphan_locked(f); });
  }
  k.volume->store = st;
  if (k.volume->root) table_.load_volume(*k.volume);
}

bool Filesystem::forget_if_lost(RemoteKey& k) {
  if (!remote_->lost_on_remote(k)) return false;
  std::unique_lock<std::shared_mutex> ns(ns_mu_);
  std::lock_guard<std::mutex> lk(table_.mutex());
  std::lock_guard<std::mutex> sl(remote_->state_mu());
  if (k.gone) return true;
  if (k.dirty() || k.pushing) return false;  // changed meanwhile: our push recreates it
  drop_key_tree_locked(k);
  remote_->forget_locked(k);
  return true;
}

void Filesystem::lookup_key(fuse_req_t req, const char* name) {
  std::string nm(name);
  fuse_entry_param e{};
  e.entry_timeout = std::min(opts_.entry_timeout, kRemoteCacheSeconds);  // a negative entry
  if (!remote::is_valid_key_name(nm)) {
    fuse_reply_entry(req, &e);  // no such key (a negative entry)
    return;
  }
  bool known;
  RemoteKey* cached;
  {
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    cached = remote_->find_locked(nm);
    known = cached && !cached->gone;
  }
  if (known && forget_if_lost(*cached)) {  // e.g. `docfs rm-key` since the last mount
    fuse_reply_entry(req, &e);
    return;
  }
  if (!known) {
    std::string why;
    std::optional<bool> exists = remote_->exists(nm, &why);
    if (!exists) {
      DOCFS_LOG_WARN("lookup of key %s: remote %s unreachable and nothing cached: %s", name,
                     remote_->url().c_str(), why.c_str());
      fail(EIO);
    }
    if (!*exists) {
      fuse_reply_entry(req, &e);
      return;
    }
  }
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    RemoteKey* k;
    {
      std::lock_guard<std::mutex> sl(remote_->state_mu());
      k = remote_->find_locked(nm);
      if (!k) k = remote_->add_locked(nm);
      if (k->gone && !known) {  // it is back on the remote
        k->gone = false;
        k->on_remote = true;
      }
    }
    e = entry_locked(key_root_locked(*k));
  }
  fuse_reply_entry(req, &e);
}

void Filesystem::refresh_remote_folder() {
  Clock::time_point taken;
  std::optional<std::vector<std::string>> names = remote_->list(&taken);
  std::unique_lock<std::shared_mutex> ns(ns_mu_);
  std::lock_guard<std::mutex> lk(table_.mutex());
  std::vector<RemoteKey*> show;
  {
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    std::set<std::string> listed;
    if (names) listed.insert(names->begin(), names->end());
    for (RemoteKey* k : remote_->keys_locked()) {
      if (k->gone) continue;
      bool local = k->dirty() || k->pushing || !k->on_remote;
      if (names && !listed.count(k->name) && !local && k->synced < taken) {
        if (k->volume && k->volume->root) {  // deleted on the remote by someone else
          drop_key_tree_locked(*k);
          remote_->forget_locked(*k);
        } else {
          k->gone = true;  // only known from an old listing or cache
        }
        continue;
      }
      if (!names && k->gen == 0 && !local) continue;  // offline: show what is cached
      show.push_back(k);
    }
    for (const std::string& n : listed) {
      RemoteKey* k = remote_->find_locked(n);
      if (k && !k->gone) continue;
      if (!k) k = remote_->add_locked(n);
      k->gone = false;
      k->on_remote = true;
      show.push_back(k);
    }
  }
  for (RemoteKey* k : show) key_root_locked(*k);
}

void Filesystem::mkdir_key(fuse_req_t req, const char* name) {
  std::string nm(name);
  if (std::string why = remote::key_name_problem(nm); !why.empty()) {
    DOCFS_LOG_WARN("mkdir .remote/%s refused: %s", name, why.c_str());
    fail(EINVAL);
  }
  if (opts_.read_only) fail(EROFS);
  // A key's format follows its name (NAME.docs: DocArray's object); which one mkdir makes
  // is the mount's remote_format.
  if (remote::is_docarray_key(nm) != opts_.remote_docarray) {
    if (opts_.remote_docarray)
      DOCFS_LOG_WARN("mkdir .remote/%s refused: this mount (remote_format=docarray) makes DocArray keys, named "
                     "NAME.docs", name);
    else
      DOCFS_LOG_WARN("mkdir .remote/%s refused: names ending in .docs are DocArray's objects; mount with "
                     "-o remote_format=docarray to make them", name);
    fail(EINVAL);
  }
  RemoteKey* k;
  {
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    k = remote_->find_locked(nm);
  }
  bool cached;
  {
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    cached = k && !k->gone;
  }
  if (cached && !forget_if_lost(*k)) fail(EEXIST);  // a stale cache is no reason for EEXIST
  std::string why;
  if (std::optional<bool> exists = remote_->exists(nm, &why); exists && *exists) fail(EEXIST);
  {
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    k = remote_->find_locked(nm);
    if (!k) k = remote_->add_locked(nm);
  }
  {
    std::lock_guard<std::mutex> pl(k->pull_mu);
    remote_->create_cache(*k);
  }
  fuse_entry_param e{};
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    if (k->volume && k->volume->root) drop_key_tree_locked(*k);
    e = entry_locked(key_root_locked(*k));
  }
  DOCFS_LOG_INFO("created key %s (pushed to %s once something is written)", name, remote_->url().c_str());
  fuse_reply_entry(req, &e);
}

void Filesystem::rmdir_key(fuse_req_t req, const char* name) {
  RemoteKey* k;
  {
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    k = remote_->find_locked(name);
    if (!k || k->gone) fail(ENOENT);
  }
  if (opts_.read_only) fail(EROFS);
  ensure_key(*k);
  auto not_empty = [&] {
    std::lock_guard<std::mutex> lk(table_.mutex());
    return k->volume && k->volume->root && !k->volume->root->children.empty();
  };
  if (not_empty()) fail(ENOTEMPTY);
  std::lock_guard<std::mutex> pl(k->push_mu);
  try {
    remote_->remove_remote(*k);
  } catch (const Error& e) {
    DOCFS_LOG_WARN("rmdir .remote/%s: deleting the key on %s failed: %s", name, remote_->url().c_str(), e.what());
    fail(EIO);
  }
  {
    std::unique_lock<std::shared_mutex> ns(ns_mu_);
    std::lock_guard<std::mutex> lk(table_.mutex());
    std::lock_guard<std::mutex> sl(remote_->state_mu());
    drop_key_tree_locked(*k);
    remote_->forget_locked(*k);
  }
  DOCFS_LOG_INFO("deleted key %s from %s", name, remote_->url().c_str());
  fuse_reply_err(req, 0);
}

std::optional<std::string> Filesystem::key_xattr(RemoteKey& k, std::string_view name) {
  std::lock_guard<std::mutex> sl(remote_->state_mu());
  if (name == "user.docfs.status") return remote_->status_locked(k);
  if (name == "user.docfs.pushes") return std::to_string(k.pushes);
  if (name == "user.docfs.remote") return remote_->url() + "/" + k.name;
  if (name == "user.docfs.etag") return k.etag;
  return std::nullopt;
}

void Filesystem::push_now(RemoteKey& k) {
  std::string err;
  if (!remote_->push(k, &err)) throw Error(EIO, "push of key " + k.name + " failed: " + err);
}

}  // namespace docfs::fs
