// fsck: reads every header entry and every body record a live document needs, checks
// each checksum, and reports problems by file and offset. --repair truncates torn tails
// (and, when header.bin is corrupt in the middle, everything from the corrupt entry on).
#include <fcntl.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/store_impl.h"

namespace docfs {

using format::Entry;
using format::EntryType;

namespace {

// Checks the record at `off`; with `content`, its content checksum too. Returns a problem
// sentence, or nothing when the record is whole.
std::optional<std::string> verify_record(const File& body, uint64_t off, bool content) {
  try {
    std::string hdr = body.pread_string(format::kRecordHeaderSize, off);
    format::RecordHeader h = format::decode_record_header(hdr);
    if (h.id_len > kMaxIdBytes || h.meta_len > format::kMaxMetaLength ||
        off + h.size() > body.size())
      return body.path() + ": record at offset " + std::to_string(off) + " has impossible lengths";
    std::string prefix = hdr + body.pread_string(h.id_len + h.meta_len, off + hdr.size());
    if (format::record_meta_crc(prefix) != h.meta_crc)
      return body.path() + ": record at offset " + std::to_string(off) + " fails its metadata checksum";
    // A metadata-only record (no content of its own) carries the CRC of content held
    // elsewhere; that content is checked through its own record.
    if (!content || h.content_len == 0) return std::nullopt;
    uint32_t crc = 0;
    std::string buf(1u << 20, '\0');
    const uint64_t start = off + prefix.size();
    for (uint64_t done = 0; done < h.content_len;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), h.content_len - done));
      size_t got = body.pread(buf.data(), want, start + done);
      if (got != want) return body.path() + ": record at offset " + std::to_string(off) + " is cut short";
      crc = crc32c::extend(crc, buf.data(), got);
      done += got;
    }
    if (crc != h.content_crc)
      return body.path() + ": record at offset " + std::to_string(off) + " fails its content checksum";
  } catch (const Error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

std::optional<std::string> verify_extent(const File& body, const format::Extent& x) {
  try {
    uint32_t crc = 0;
    std::string buf(std::min<uint64_t>(x.len, 1u << 20), '\0');
    for (uint64_t done = 0; done < x.len;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), x.len - done));
      if (body.pread(buf.data(), want, x.body_off + done) != want)
        return body.path() + ": extent at offset " + std::to_string(x.body_off) + " is cut short";
      crc = crc32c::extend(crc, buf.data(), want);
      done += want;
    }
    if (crc != x.crc) return body.path() + ": extent at offset " + std::to_string(x.body_off) + " fails its checksum";
  } catch (const Error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

}  // namespace

FsckReport Store::fsck(const std::string& dir, bool repair) {
  FsckReport report;
  refuse_foreign_files(dir);  // --repair truncates: never on files that are not ours
  std::optional<StoreLock> lock;
  if (repair) lock = StoreLock::acquire(dir);  // repairing needs the store to itself

  Impl impl;
  impl.dir = dir;
  impl.read_only = true;
  if (repair) impl.recover_interrupted_prune();
  try {
    impl.open_files(false);
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    return report;
  }
  impl.body_size_at_scan = impl.body->file.size();

  // Replay like open does, remembering where every record lives.
  std::map<uint64_t, uint64_t> record_of_content;  // content_off -> record_off (whole records)
  uint64_t beyond_body = 0, first_beyond = 0;
  EntryScan scan = scan_entries(impl.header, format::kFileHeaderSize, [&](const Entry& e, uint64_t off) {
    ++report.header_entries;
    if (e.type == EntryType::kPut) {
      if (!is_valid_id(e.put.id))
        report.problems.push_back(impl.header.path() + ": entry at offset " + std::to_string(off) +
                                  " has an invalid id");
      if (e.put.content_off == e.put.record_off + format::kRecordHeaderSize + e.put.id.size() + e.put.meta_len)
        record_of_content[e.put.content_off] = e.put.record_off;
    }
    if (e.type == EntryType::kLink) {
      if (!is_valid_id(e.put.id))
        report.problems.push_back(impl.header.path() + ": link entry at offset " + std::to_string(off) +
                                  " has an invalid name");
      else if (!impl.index.find(e.to))
        report.problems.push_back(impl.header.path() + ": link entry at offset " + std::to_string(off) +
                                  " makes " + e.put.id + " a name of " + e.to + ", which does not exist");
    }
    if (!impl.apply(e) && beyond_body++ == 0) first_beyond = off;
  });
  report.torn_header_bytes = scan.torn_bytes;
  report.problems.insert(report.problems.end(), impl.apply_problems.begin(), impl.apply_problems.end());
  if (scan.corruption) report.problems.push_back(*scan.corruption);
  report.problems.insert(report.problems.end(), scan.invalid.begin(), scan.invalid.end());
  if (scan.invalid_count > scan.invalid.size())
    report.problems.push_back(impl.header.path() + ": " + std::to_string(scan.invalid_count) + " bad entries in all");
  if (beyond_body) {
    // Body bytes lost in a crash after their entries reached header.bin: the same torn
    // tail, seen from the other file. Opening skips these; repair drops them.
    report.torn_header_bytes = scan.valid_end + scan.torn_bytes - first_beyond;
    scan.valid_end = first_beyond;
  }

  // Every live document: its metadata record, and the record that holds its content.
  std::set<uint64_t> checked;
  impl.index.for_each([&](std::string_view id, const Location& loc) {
    ++report.documents;
    if (checked.insert(loc.record_off).second)
      if (auto p = verify_record(impl.body->file, loc.record_off, true))
        report.problems.push_back(*p + " (document " + std::string(id) + ")");
    if (loc.extents) {  // each extent carries its own CRC, or one of a range that holds it
      for (const auto& x : *loc.extents)
        if (x.own_crc())
          if (auto p = verify_extent(impl.body->file, x))
            report.problems.push_back(*p + " (document " + std::string(id) + ")");
      try {
        if (auto p = check_crc_ranges(impl.body->file, *loc.extents))
          report.problems.push_back(*p + " (document " + std::string(id) + ")");
      } catch (const Error& e) {
        report.problems.push_back(std::string(e.what()) + " (document " + std::string(id) + ")");
      }
      return;
    }
    if (loc.content_len == 0) return;
    // The content lives in an earlier whole record, or in a content-only record (written
    // by a StreamWriter) whose 24-byte header sits right before it.
    uint64_t holder = 0;
    auto it = record_of_content.upper_bound(loc.content_off);
    if (it != record_of_content.begin() && (--it)->first == loc.content_off) {
      holder = it->second;
    } else if (loc.content_off >= format::kFileHeaderSize + format::kRecordHeaderSize) {
      holder = loc.content_off - format::kRecordHeaderSize;
    }
    if (holder == 0) {
      report.problems.push_back(impl.body->file.path() + ": no record holds the content of document " +
                                std::string(id) + " at offset " + std::to_string(loc.content_off));
      return;
    }
    if (checked.insert(holder).second)
      if (auto p = verify_record(impl.body->file, holder, true))
        report.problems.push_back(*p + " (content of document " + std::string(id) + ")");
  });

  const uint64_t body_size = impl.body->file.size();
  const uint64_t referenced = std::max<uint64_t>(impl.max_referenced_end, format::kFileHeaderSize);
  report.torn_body_bytes = body_size > referenced ? body_size - referenced : 0;

  if (repair && (report.torn_header_bytes || scan.corruption || report.torn_body_bytes)) {
    File h = File::open(dir + "/header.bin", O_RDWR);
    h.truncate(scan.valid_end);
    h.sync();
    File b = File::open(dir + "/body.bin", O_RDWR);
    b.truncate(referenced);
    b.sync();
    report.repaired = true;
    if (scan.corruption) {
      report.problems.push_back("repair: header.bin truncated at offset " + std::to_string(scan.valid_end) +
                                "; entries after the corrupt one are lost");
    }
  }
  return report;
}

}  // namespace docfs
