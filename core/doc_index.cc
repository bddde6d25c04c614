#include "core/doc_index.h"

#include <cstring>

namespace docfs {

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

const Location* DocIndex::find(std::string_view id) const {
  bool found;
  size_t i = probe(id, &found);
  return found ? &entries_[table_[i]].loc : nullptr;
}

bool DocIndex::upsert(std::string_view id, const Location& loc, Location* previous) {
  bool found;
  size_t i = probe(id, &found);
  if (found) {
    Slot& s = entries_[table_[i]];
    if (previous) *previous = s.loc;
    s.loc = loc;
    return true;
  }
  uint32_t e;
  if (!free_entries_.empty()) {
    e = free_entries_.back();
    free_entries_.pop_back();
  } else {
    e = static_cast<uint32_t>(entries_.size());
    entries_.push_back({});
  }
  entries_[e] = Slot{store_id(id), static_cast<uint32_t>(id.size()), true, loc};
  if (table_[i] == kTombstone) --tombstones_;
  table_[i] = e;
  ++live_;
  if ((live_ + tombstones_) * 10 > table_.size() * 7)
    rehash(live_ * 10 > table_.size() * 4 ? table_.size() * 2 : table_.size());
  return false;
}

bool DocIndex::erase(std::string_view id, Location* previous) {
  bool found;
  size_t i = probe(id, &found);
  if (!found) return false;
  Slot& s = entries_[table_[i]];
  if (previous) *previous = s.loc;
  s.live = false;
  free_entries_.push_back(table_[i]);
  table_[i] = kTombstone;
  ++tombstones_;
  --live_;
  return true;
}

void DocIndex::clear() {
  chunks_.clear();
  chunk_used_ = size_t{1} << kChunkBits;
  entries_.clear();
  free_entries_.clear();
  live_ = 0;
  table_.assign(1024, kEmpty);
  tombstones_ = 0;
}

void DocIndex::for_each(const std::function<void(std::string_view, const Location&)>& fn) const {
  for (const Slot& s : entries_)
    if (s.live) fn(id_of(s), s.loc);
}

}  // namespace docfs
