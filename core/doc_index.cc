#include "core/doc_index.h"

#include <algorithm>
#include <cstring>

namespace docfs {

uint64_t live_size(size_t id_len, const Location& l) {
  uint64_t data = l.content_len;
  if (l.extents) {
    data = 0;
    for (const auto& x : *l.extents) data += x.len;
  }
  return format::kRecordHeaderSize + id_len + l.meta_len + data;
}

DocIndex::DocIndex() { rehash(1024); }

void DocIndex::reserve(size_t n) {
  entries_.reserve(n);
  size_t cap = table_.size();
  while (cap < n * 2) cap *= 2;
  if (cap != table_.size()) rehash(cap);
}

std::string_view DocIndex::id_of(const Slot& s) const {
  const char* chunk = chunks_[s.id_pos >> kChunkBits].get();
  return {chunk + (s.id_pos & ((size_t{1} << kChunkBits) - 1)), s.id_len};
}

uint64_t DocIndex::store_id(std::string_view id) {
  const size_t chunk_size = size_t{1} << kChunkBits;
  if (chunk_used_ + id.size() > chunk_size) {
    chunks_.push_back(std::make_unique<char[]>(chunk_size));
    chunk_used_ = 0;
  }
  uint64_t pos = ((chunks_.size() - 1) << kChunkBits) | chunk_used_;
  std::memcpy(chunks_.back().get() + chunk_used_, id.data(), id.size());
  chunk_used_ += id.size();
  return pos;
}

size_t DocIndex::probe(std::string_view id, bool* found) const {
  const size_t mask = table_.size() - 1;
  size_t i = std::hash<std::string_view>{}(id) & mask;
  size_t first_free = SIZE_MAX;
  while (true) {
    uint32_t v = table_[i];
    if (v == kEmpty) {
      *found = false;
      return first_free != SIZE_MAX ? first_free : i;
    }
    if (v == kTombstone) {
      if (first_free == SIZE_MAX) first_free = i;
    } else if (id_of(entries_[v]) == id) {
      *found = true;
      return i;
    }
    i = (i + 1) & mask;
  }
}

void DocIndex::rehash(size_t capacity) {
  std::vector<uint32_t> old;
  old.swap(table_);
  table_.assign(capacity, kEmpty);
  tombstones_ = 0;
  const size_t mask = capacity - 1;
  for (uint32_t v : old) {
    if (v == kEmpty || v == kTombstone) continue;
    size_t i = std::hash<std::string_view>{}(id_of(entries_[v])) & mask;
    while (table_[i] != kEmpty) i = (i + 1) & mask;
    table_[i] = v;
  }
}

DocIndex::Slot* DocIndex::slot(std::string_view id) {
  bool found;
  size_t i = probe(id, &found);
  return found ? &entries_[table_[i]] : nullptr;
}

const DocIndex::Slot* DocIndex::slot(std::string_view id) const {
  bool found;
  size_t i = probe(id, &found);
  return found ? &entries_[table_[i]] : nullptr;
}

uint64_t DocIndex::counted(const Slot& s) const {
  if (s.file == kNoFile) return live_size(s.id_len, s.loc);
  const SharedFile& f = files_[s.file];
  return live_size(f.counted_id_len, f.loc);
}

const Location* DocIndex::find(std::string_view id) const {
  const Slot* s = slot(id);
  if (!s) return nullptr;
  return s->file == kNoFile ? &s->loc : &files_[s->file].loc;
}

const Location* DocIndex::find(std::string_view id, FileLinks* links) const {
  const Slot* s = slot(id);
  if (!s) return nullptr;
  if (s->file == kNoFile) {
    *links = FileLinks{};
    return &s->loc;
  }
  const SharedFile& f = files_[s->file];
  *links = FileLinks{f.nlink, f.id};
  return &f.loc;
}

DocIndex::Slot& DocIndex::insert(std::string_view id, uint32_t file, const Location& loc) {
  bool found;
  size_t i = probe(id, &found);
  uint32_t e;
  if (!free_entries_.empty()) {
    e = free_entries_.back();
    free_entries_.pop_back();
  } else {
    e = static_cast<uint32_t>(entries_.size());
    entries_.push_back({});
  }
  Slot& s = entries_[e];
  s.id_pos = store_id(id);
  s.id_len = static_cast<uint32_t>(id.size());
  s.live = 1;
  s.file = file;
  s.loc = loc;
  if (table_[i] == kTombstone) --tombstones_;
  table_[i] = e;
  ++live_;
  if ((live_ + tombstones_) * 10 > table_.size() * 7) {
    rehash(live_ * 10 > table_.size() * 4 ? table_.size() * 2 : table_.size());
  }
  return entries_[e];
}

void DocIndex::drop_slot(std::string_view id) {
  bool found;
  size_t i = probe(id, &found);
  if (!found) return;
  Slot& s = entries_[table_[i]];
  s.live = 0;
  s.loc = Location{};  // lets go of a shared extent list
  free_entries_.push_back(table_[i]);
  table_[i] = kTombstone;
  ++tombstones_;
  --live_;
}

void DocIndex::release_file_of(const Slot& s) {
  if (s.file == kNoFile) {
    live_bytes_ -= std::min(live_bytes_, counted(s));
    return;
  }
  SharedFile& f = files_[s.file];
  if (--f.nlink > 0) return;
  live_bytes_ -= std::min(live_bytes_, counted(s));
  f = SharedFile{};
  free_files_.push_back(s.file);
}

bool DocIndex::upsert(std::string_view id, const Location& loc, Location* previous) {
  if (Slot* s = slot(id)) {
    live_bytes_ -= std::min(live_bytes_, counted(*s));
    Location& cur = s->file == kNoFile ? s->loc : files_[s->file].loc;
    if (previous) *previous = cur;
    cur = loc;
    live_bytes_ += counted(*s);
    return true;
  }
  Slot& s = insert(id, kNoFile, loc);
  live_bytes_ += counted(s);
  return false;
}

bool DocIndex::erase(std::string_view id) {
  Slot* s = slot(id);
  if (!s) return false;
  release_file_of(*s);
  drop_slot(id);
  return true;
}

bool DocIndex::rename(std::string_view from, std::string_view to) {
  Slot* s = slot(from);
  if (!s) return false;
  if (from == to) return true;
  if (Slot* t = slot(to)) {
    const bool same_file = s->file != kNoFile && s->file == t->file;
    if (same_file) return erase(from);
    release_file_of(*t);
    drop_slot(to);
    s = slot(from);  // dropping never moves entries, but be plain about it
  }
  const uint32_t file = s->file;
  const Location loc = s->loc;
  const uint64_t before = counted(*s);
  drop_slot(from);
  Slot& moved = insert(to, file, loc);
  // A one-name file is counted with its current name's length.
  live_bytes_ = live_bytes_ - std::min(live_bytes_, before) + counted(moved);
  return true;
}

bool DocIndex::link(std::string_view target, std::string_view name) {
  Slot* t = slot(target);
  if (!t) return false;
  if (target == name) return true;
  if (Slot* n = slot(name)) {
    if (n->file != kNoFile && n->file == t->file) return true;
    release_file_of(*n);
    drop_slot(name);
    t = slot(target);
  }
  if (t->file == kNoFile) {  // a second name: the location moves into a shared file
    uint32_t f;
    if (!free_files_.empty()) {
      f = free_files_.back();
      free_files_.pop_back();
    } else {
      f = static_cast<uint32_t>(files_.size());
      files_.emplace_back();
    }
    files_[f] = SharedFile{t->loc, 1, t->id_len, next_file_id_++};
    t->loc = Location{};
    t->file = f;
  }
  const uint32_t f = t->file;
  ++files_[f].nlink;
  insert(name, f, Location{});
  return true;
}

void DocIndex::clear() {
  chunks_.clear();
  chunk_used_ = size_t{1} << kChunkBits;
  entries_.clear();
  free_entries_.clear();
  files_.clear();
  free_files_.clear();
  live_ = 0;
  live_bytes_ = 0;
  table_.assign(1024, kEmpty);
  tombstones_ = 0;
}

void DocIndex::for_each(const std::function<void(std::string_view, const Location&)>& fn) const {
  for (const Slot& s : entries_)
    if (s.live) fn(id_of(s), s.file == kNoFile ? s.loc : files_[s.file].loc);
}

void DocIndex::for_each(
    const std::function<void(std::string_view, const Location&, const FileLinks&)>& fn) const {
  for (const Slot& s : entries_) {
    if (!s.live) continue;
    if (s.file == kNoFile) {
      fn(id_of(s), s.loc, FileLinks{});
    } else {
      const SharedFile& f = files_[s.file];
      fn(id_of(s), f.loc, FileLinks{f.nlink, f.id});
    }
  }
}

}  // namespace docfs
