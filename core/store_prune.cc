// Compaction. A new header/body pair holding only live versions is written in
// STORE/prune.tmp, fsynced, and committed by renaming that directory to STORE/prune.ready;
// then its two files are renamed over the old ones. Open rolls a prune.ready forward and
// deletes a prune.tmp, so a crash at any point leaves the old store or the new one whole.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/failpoint.h"
#include "core/store_impl.h"

namespace docfs {

using format::Entry;
using format::EntryType;

namespace {

constexpr size_t kHeaderFlush = 1u << 20;
// Catch-up rounds without pausing writers (each copies what the previous one saw appended)
// before the final, paused one. A single small entry can name a big commit, so the rounds
// go on until one finds nothing new, not until little header is left.
constexpr int kCatchUpRounds = 8;

// Writes the new pair: records copied from the old body, entries pointing at them.
class PruneWriter {
 public:
  PruneWriter(std::shared_ptr<BodyFile> old_body, File body, File header, uint64_t generation)
      : old_(std::move(old_body)), body_(std::move(body)), header_(std::move(header)), generation_(generation) {
    format::FileHeader fh{format::kNewFileVersion, generation};
    std::string b = format::encode_file_header(format::kBodyMagic, fh);
    std::string h = format::encode_file_header(format::kHeaderMagic, fh);
    body_.pwrite(b.data(), b.size(), 0);
    header_.pwrite(h.data(), h.size(), 0);
    body_end_ = b.size();
    header_end_ = h.size();
  }

  // Copies the version `loc` of `id` and writes its put entry.
  void copy_put(const std::string& id, const Location& loc) {
    if (loc.extents) return copy_extents(id, loc);
    const File& old = old_->file;
    CheckedRecord rec = read_record(id, loc);
    const format::RecordHeader& h = rec.header;
    const std::string& meta = rec.meta;
    const uint64_t at = body_end_;
    const uint64_t old_prefix_len = format::kRecordHeaderSize + h.id_len + h.meta_len;
    const bool contiguous = h.content_len == loc.content_len &&
                            loc.content_off == loc.record_off + old_prefix_len && rec.id == id;
    uint64_t prefix_len;
    if (contiguous) {
      // The record is exactly what the new body needs: let the kernel copy it.
      copy_range(loc.record_off, at, h.size());
      prefix_len = old_prefix_len;
    } else {
      // Renamed, or a metadata-only version: build a whole record for it.
      format::RecordHeader nh;
      nh.content_len = loc.content_len;
      prefix_len = format::kRecordHeaderSize + id.size() + meta.size();
      nh.content_crc = copy_range(loc.content_off, at + prefix_len, loc.content_len, true);
      if (nh.content_crc != h.content_crc)  // never carry corruption into the new store
        throw FormatError(old.path() + ": content of " + id + " at offset " + std::to_string(loc.content_off) +
                          " fails its checksum; prune stopped, run docfs fsck");
      std::string np = format::encode_record_prefix(nh, id, meta);
      body_.pwrite(np.data(), np.size(), at);
    }
    body_end_ = at + prefix_len + loc.content_len;
    Entry e;
    e.type = EntryType::kPut;
    e.put = format::PutEntry{id, at, loc.meta_len, at + prefix_len, loc.content_len,
                             loc.mode, loc.uid, loc.gid, loc.mtime_ns, loc.ctime_ns, {}, {}};
    write_entry(e);
  }

  // A version made of extents: its metadata record, then its data, each run of extents
  // without a hole between them copied as one new extent (every old CRC checked on the
  // way). With no hole at all it becomes a plain contiguous record again.
  void copy_extents(const std::string& id, const Location& loc) {
    const File& old = old_->file;
    const std::string meta = read_record(id, loc).meta;
    const auto& xs = *loc.extents;
    // Extents that share a wider checksummed range are checked through it; the copies get
    // their own CRCs.
    if (auto bad = check_crc_ranges(old, xs)) throw FormatError(*bad + " (" + id + "); prune stopped, run docfs fsck");
    uint64_t data = 0;
    for (const auto& x : xs) data += x.len;
    const bool dense = data == loc.content_len;
    const uint64_t at = body_end_;
    uint64_t to = at + format::kRecordHeaderSize + id.size() + meta.size();
    std::vector<format::Extent> out;
    uint32_t whole_crc = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const auto& x = xs[i];
      uint32_t crc = copy_range(x.body_off, to, x.len, true);
      if (x.own_crc() && crc != x.crc)
        throw FormatError(old.path() + ": content of " + id + " at offset " + std::to_string(x.body_off) +
                          " fails its checksum; prune stopped, run docfs fsck");
      if (dense) {
        whole_crc = crc32c::extend_by(whole_crc, crc, x.len);
      } else if (!out.empty() && out.back().file_end() == x.file_off) {
        out.back().crc = crc32c::extend_by(out.back().crc, crc, x.len);
        out.back().len += x.len;
      } else {
        out.push_back(format::Extent{x.file_off, x.len, to, crc});
      }
      to += x.len;
    }
    format::RecordHeader nh;
    if (dense) {
      nh.content_len = loc.content_len;
      nh.content_crc = whole_crc;
    }
    std::string np = format::encode_record_prefix(nh, id, meta);
    body_.pwrite(np.data(), np.size(), at);
    body_end_ = to;
    Entry e;
    e.type = dense ? EntryType::kPut : EntryType::kPutExtents;
    e.put = format::PutEntry{id, at, loc.meta_len, dense ? at + np.size() : 0, loc.content_len,
                             loc.mode, loc.uid, loc.gid, loc.mtime_ns, loc.ctime_ns, std::move(out), {}};
    write_entry(e);
  }

  // The record at loc.record_off, its lengths and metadata checksum verified.
  struct CheckedRecord {
    format::RecordHeader header;
    std::string id;    // as stored in the record (a renamed version keeps its old one)
    std::string meta;
  };
  CheckedRecord read_record(const std::string& id, const Location& loc) {
    const File& old = old_->file;
    std::string hdr = old.pread_string(format::kRecordHeaderSize, loc.record_off);
    format::RecordHeader h = format::decode_record_header(hdr);
    if (h.id_len > kMaxIdBytes || h.meta_len != loc.meta_len)
      throw FormatError(old.path() + ": record at offset " + std::to_string(loc.record_off) +
                        " does not match its header entry; prune stopped, run docfs fsck");
    std::string rest = old.pread_string(h.id_len + h.meta_len, loc.record_off + hdr.size());
    if (format::record_meta_crc(hdr + rest) != h.meta_crc)
      throw FormatError(old.path() + ": record at offset " + std::to_string(loc.record_off) + " (document " + id +
                        ") fails its checksum; prune stopped, run docfs fsck");
    return CheckedRecord{h, rest.substr(0, h.id_len), rest.substr(h.id_len)};
  }

  void write_entry(const Entry& e) {
    if (e.type == EntryType::kLink) has_links_ = true;
    header_buf_ += format::encode_entry(e);
    if (header_buf_.size() > kHeaderFlush) flush();
  }

  // `name` is another name of the file already written under `target`.
  void write_link(const std::string& name, const std::string& target) {
    Entry e;
    e.type = EntryType::kLink;
    e.put.id = name;
    e.to = target;
    write_entry(e);
  }

  void finish() {
    flush();
    if (has_links_) {  // older builds must refuse a header with kLink entries
      format::FileHeader fh{format::kLinkFormatVersion, generation_};
      std::string h = format::encode_file_header(format::kHeaderMagic, fh);
      header_.pwrite(h.data(), h.size(), 0);
    }
    body_.sync();
    header_.sync();
  }
  uint64_t bytes() const { return body_end_ + header_end_; }
  uint32_t header_version() const { return has_links_ ? format::kLinkFormatVersion : format::kNewFileVersion; }

 private:
  void flush() {
    header_.pwrite(header_buf_.data(), header_buf_.size(), header_end_);
    header_end_ += header_buf_.size();
    header_buf_.clear();
  }

  // Copies n bytes from the old body at `from` to the new body at `to`; with `crc`,
  // reads them through user space and returns their CRC-32C.
  uint32_t copy_range(uint64_t from, uint64_t to, uint64_t n, bool crc = false) {
    uint32_t c = 0;
    if (!crc) {
      loff_t in = static_cast<loff_t>(from), out = static_cast<loff_t>(to);
      uint64_t left = n;
      while (left > 0) {
        ssize_t r = ::copy_file_range(old_->file.fd(), &in, body_.fd(), &out, left, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;  // not supported here, or a short file: finish by hand
        left -= static_cast<uint64_t>(r);
      }
      from += n - left;
      to += n - left;
      n = left;
    }
    std::string buf(std::min<uint64_t>(n, 1u << 20), '\0');
    for (uint64_t done = 0; done < n;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), n - done));
      size_t got = old_->file.pread(buf.data(), want, from + done);
      if (got != want)
        throw FormatError(old_->file.path() + ": content at offset " + std::to_string(from + done) +
                          " is cut short; prune stopped, run docfs fsck");
      if (crc) c = crc32c::extend(c, buf.data(), got);
      body_.pwrite(buf.data(), got, to + done);
      done += got;
    }
    return c;
  }

  std::shared_ptr<BodyFile> old_;
  File body_, header_;
  uint64_t generation_ = 0;
  uint64_t body_end_ = 0, header_end_ = 0;
  std::string header_buf_;
  bool has_links_ = false;
};

void rename_or_throw(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) throw IoError(errno, "rename " + from + " to " + to);
}

}  // namespace

void Store::Impl::recover_interrupted_prune() {
  const std::string ready = dir + "/" + kPruneReady, scratch = dir + "/" + kPruneScratch;
  if (path_exists(ready)) {
    // The new pair was complete and durable before prune.ready existed: finish moving it.
    for (const char* name : {"body.bin", "header.bin"}) {
      std::string from = ready + "/" + name;
      if (path_exists(from)) rename_or_throw(from, dir + "/" + name);
    }
    sync_dir(dir);
    ::rmdir(ready.c_str());
  }
  if (path_exists(scratch)) remove_tree(scratch);
}

PruneResult Store::Impl::prune() {
  std::lock_guard pl(prune_mu);
  require_writable();
  const std::string scratch = dir + "/" + kPruneScratch, ready = dir + "/" + kPruneReady;

  // 1. Snapshot the live versions; writers go on meanwhile.
  struct LiveName {
    std::string id;
    Location loc;
    uint64_t file_id;  // FileLinks::file_id: names of one file are written once + kLinks
  };
  std::vector<LiveName> live;
  std::shared_ptr<BodyFile> old_body;
  uint64_t snapshot_end;
  PruneResult result;
  {
    std::unique_lock lk(mu);
    flush_locked();
    snapshot_end = header_end;
    old_body = body;
    result.bytes_before = body_end + header_end;
    live.reserve(index.size());
    index.for_each([&](std::string_view id, const Location& l, const FileLinks& links) {
      live.push_back(LiveName{std::string(id), l, links.file_id});
    });
  }
  std::sort(live.begin(), live.end(), [](const LiveName& a, const LiveName& b) {
    return a.loc.record_off != b.loc.record_off ? a.loc.record_off < b.loc.record_off : a.file_id < b.file_id;
  });

  remove_tree(scratch);
  if (::mkdir(scratch.c_str(), 0755) != 0) throw IoError(errno, "create " + scratch);
  const uint64_t gen = new_generation();
  PruneWriter writer(old_body, File::open(scratch + "/body.bin", O_RDWR | O_CREAT | O_TRUNC, 0644),
                     File::open(scratch + "/header.bin", O_RDWR | O_CREAT | O_TRUNC, 0644), gen);
  try {
    // A file with several names: its version once, under the first name, then a kLink for
    // each other name (after every put, so each target exists when its link is replayed).
    std::unordered_map<uint64_t, std::string> written_as;
    std::vector<std::pair<std::string, std::string>> links;  // name, target
    // Each name's file, as of the entry being caught up: its extent list (null when it has
    // none). A kPatchExtents entry names only what changed from its previous version, in
    // old body offsets, so it is resolved here and copied as a whole version. Names of one
    // file share one cell, as the index shares one version between them.
    struct FileCell {
      std::shared_ptr<const ExtentList> extents;
    };
    std::unordered_map<std::string, std::shared_ptr<FileCell>> cells;
    {
      std::unordered_map<uint64_t, std::shared_ptr<FileCell>> by_file;
      for (const LiveName& n : live) {
        std::shared_ptr<FileCell>& cell = n.file_id != 0 ? by_file[n.file_id] : cells[n.id];
        if (!cell) cell = std::make_shared<FileCell>(FileCell{n.loc.extents});
        cells[n.id] = cell;
      }
    }
    for (const LiveName& n : live) {
      if (n.file_id != 0) {
        auto [it, first] = written_as.emplace(n.file_id, n.id);
        if (!first) {
          links.emplace_back(n.id, it->second);
          continue;
        }
      }
      writer.copy_put(n.id, n.loc);
    }
    for (const auto& [name, target] : links) writer.write_link(name, target);
    failpoint("prune.copied");
    live.clear();
    live.shrink_to_fit();

    // 2. Catch up with what writers appended meanwhile, without stopping them, in rounds
    //    until a round finds little; then writers pause (streaming puts are waited out)
    //    only for that last little bit, so no writer waits for work the size of a file.
    // Within a round, a version replaced by a later put of the same name, with nothing in
    // between that could still need it (a delete, rename or link of that name), is not
    // copied: a file committed a thousand times while the prune ran costs one copy, not a
    // thousand. The header offsets of those entries:
    std::unordered_set<uint64_t> superseded;
    auto find_superseded = [&](uint64_t from, uint64_t to) {
      superseded.clear();
      struct Op {
        uint64_t off;
        EntryType type;
        std::string id, to;
      };
      std::vector<Op> ops;
      scan_entries(header, from, to, [&](const Entry& e, uint64_t off) {
        const bool two_names = e.type == EntryType::kRename || e.type == EntryType::kLink;
        ops.push_back(Op{off, e.type, e.put.id, two_names ? e.to : std::string()});
      });
      std::unordered_set<std::string> put_later;  // names a later put gives a new version
      for (auto op = ops.rbegin(); op != ops.rend(); ++op) {
        switch (op->type) {
          case EntryType::kPut:
          case EntryType::kPutExtents:
          case EntryType::kPutExtentSpans:
          case EntryType::kPatchExtents:
            if (!put_later.insert(op->id).second) superseded.insert(op->off);
            break;
          case EntryType::kDelete:
            put_later.erase(op->id);
            break;
          case EntryType::kRename:
          case EntryType::kLink:
            put_later.erase(op->id);
            put_later.erase(op->to);
            break;
          case EntryType::kClear:
            put_later.clear();
            break;
        }
      }
    };
    auto copy_entry = [&](const Entry& e, uint64_t off) {
      const std::string& id = e.put.id;
      const bool copy = !superseded.count(off);
      switch (e.type) {
        case EntryType::kPut:
        case EntryType::kPutExtents:
        case EntryType::kPutExtentSpans: {
          Location loc = location_of(e.put, format::has_extents(e.type));
          std::shared_ptr<FileCell>& cell = cells[id];
          if (!cell) cell = std::make_shared<FileCell>();
          cell->extents = loc.extents;
          if (copy) writer.copy_put(id, loc);
          return;
        }
        case EntryType::kPatchExtents: {
          auto cell = cells.find(id);
          auto list = std::make_shared<ExtentList>();
          // A patch the live store skipped as invalid is skipped here too.
          if (cell == cells.end() || !cell->second->extents ||
              format::apply_patch(*cell->second->extents, e.put, list.get()))
            return;
          Location loc = location_of(e.put, false);
          loc.extents = std::move(list);
          cell->second->extents = loc.extents;
          if (copy) writer.copy_put(id, loc);
          return;
        }
        case EntryType::kDelete:
          cells.erase(id);
          break;
        case EntryType::kRename: {
          auto from = cells.find(id);
          if (from != cells.end() && id != e.to) {
            std::shared_ptr<FileCell> moved = std::move(from->second);
            cells.erase(from);
            cells[e.to] = std::move(moved);
          }
          break;
        }
        case EntryType::kLink: {
          auto target = cells.find(e.to);
          if (target != cells.end() && id != e.to) cells[id] = target->second;
          break;
        }
        case EntryType::kClear:
          cells.clear();
          break;
      }
      writer.write_entry(e);
    };
    uint64_t caught_up = snapshot_end;
    for (int round = 0; round < kCatchUpRounds; ++round) {
      uint64_t end;
      {
        std::unique_lock lk(mu);
        flush_locked();
        end = header_end;
      }
      if (end == caught_up) break;
      find_superseded(caught_up, end);
      EntryScan scan = scan_entries(header, caught_up, end, copy_entry);
      if (scan.corruption) throw FormatError(*scan.corruption + "; prune stopped");
      caught_up = scan.valid_end;
    }
    std::unique_lock gate(stream_gate);
    std::unique_lock lk(mu);
    flush_locked();
    find_superseded(caught_up, header_end);
    EntryScan scan = scan_entries(header, caught_up, copy_entry);
    if (scan.corruption) throw FormatError(*scan.corruption + "; prune stopped");
    writer.finish();
    result.bytes_after = writer.bytes();
    sync_dir(scratch);
    failpoint("prune.written");
    rename_or_throw(scratch, ready);  // the commit point
    sync_dir(dir);
    failpoint("prune.committed");
    rename_or_throw(ready + "/body.bin", dir + "/body.bin");
    failpoint("prune.body_moved");
    rename_or_throw(ready + "/header.bin", dir + "/header.bin");
    sync_dir(dir);
    failpoint("prune.header_moved");
    ::rmdir(ready.c_str());

    // 3. Switch to the new pair. Readers holding a ContentRef keep the old body open.
    body = std::make_shared<BodyFile>(File::open(dir + "/body.bin", O_RDWR));
    header = File::open(dir + "/header.bin", O_RDWR);
    generation = gen;
    index.clear();
    staged_bytes = 0;  // writers' runs were in the old body; they start new ones
    parked_runs.clear();
    max_referenced_end = 0;
    header_version = writer.header_version();
    replay_from(format::kFileHeaderSize);
    result.documents = index.size();
  } catch (...) {
    if (path_exists(scratch)) remove_tree(scratch);
    throw;
  }
  return result;
}

}  // namespace docfs
