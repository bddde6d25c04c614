#include "core/store_builder.h"

#include <fcntl.h>

#include <cstring>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/store_format.h"
#include "core/store_impl.h"

namespace docfs {

StoreBuilder::StoreBuilder(const std::string& dir, bool direct)
    : dir_(dir),
      body_(File::open(dir + "/body.bin", O_RDWR | O_CREAT | O_EXCL, 0644)),
      header_(File::open(dir + "/header.bin.new", O_RDWR | O_CREAT | O_TRUNC, 0644)),
      out_(dir + "/body.bin", body_, direct) {
  format::FileHeader fh{format::kNewFileVersion, new_generation()};
  generation_ = fh.generation;
  header_buf_ = format::encode_file_header(format::kHeaderMagic, fh);
  next_chunk();
  std::string b = format::encode_file_header(format::kBodyMagic, fh);
  append(b.data(), b.size());
}

StoreBuilder::~StoreBuilder() = default;

void StoreBuilder::next_chunk() {
  if (chunk_) {
    out_.submit(fill_);
    chunk_start_ += fill_;
  }
  chunk_ = out_.next_buffer();
  fill_ = 0;
}

void StoreBuilder::append(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    if (fill_ == DirectFileWriter::kChunk) next_chunk();
    size_t k = std::min(n, DirectFileWriter::kChunk - fill_);
    std::memcpy(chunk_ + fill_, c, k);
    fill_ += k;
    body_end_ += k;
    c += k;
    n -= k;
  }
}

void StoreBuilder::add(const DocumentMeta& meta_in, ContentSource& src) {
  if (finished_) throw std::logic_error("StoreBuilder::add after finish");
  check_id_or_throw(meta_in.id);
  const std::string meta = encode_meta_checked(meta_in);
  const uint64_t len = src.size();
  // The prefix carries the content's CRC, known only once the content has been read: leave
  // room for it and fill it in afterwards.
  const uint64_t record_off = body_end_;
  const size_t prefix_len = format::kRecordHeaderSize + meta_in.id.size() + meta.size();
  std::string zeros(prefix_len, '\0');
  append(zeros.data(), zeros.size());
  const uint32_t crc = copy_in(src, 0, len, meta_in.id);
  format::RecordHeader h;
  h.content_len = len;
  h.content_crc = crc;
  std::string prefix = format::encode_record_prefix(h, meta_in.id, meta);
  if (record_off >= chunk_start_)
    std::memcpy(chunk_ + (record_off - chunk_start_), prefix.data(), prefix.size());
  else
    patches_.emplace_back(record_off, std::move(prefix));
  header_buf_ += format::encode_entry(
      put_entry(meta_in, record_off, static_cast<uint32_t>(meta.size()), record_off + prefix_len, len));
  ++documents_;
}

uint32_t StoreBuilder::copy_in(ContentSource& src, uint64_t from, uint64_t len, const std::string& id) {
  uint32_t crc = 0;
  for (uint64_t done = 0; done < len;) {
    if (fill_ == DirectFileWriter::kChunk) next_chunk();
    size_t want = static_cast<size_t>(std::min<uint64_t>(len - done, DirectFileWriter::kChunk - fill_));
    size_t n = src.read(from + done, chunk_ + fill_, want);
    if (n == 0) throw IoError(EIO, "content of " + id + " ended early");
    crc = crc32c::extend(crc, chunk_ + fill_, n);
    fill_ += n;
    body_end_ += n;
    done += n;
  }
  return crc;
}

void StoreBuilder::add_sparse(const DocumentMeta& meta_in, uint64_t size,
                              const std::vector<std::pair<uint64_t, uint64_t>>& ranges, ContentSource& data) {
  if (finished_) throw std::logic_error("StoreBuilder::add_sparse after finish");
  check_id_or_throw(meta_in.id);
  const std::string meta = encode_meta_checked(meta_in);
  // A metadata-only record (extents carry their own CRCs), then the data ranges.
  const uint64_t record_off = body_end_;
  const std::string prefix = format::encode_record_prefix(format::RecordHeader{}, meta_in.id, meta);
  format::Entry e = put_entry(meta_in, record_off, static_cast<uint32_t>(meta.size()), 0, size);
  e.type = format::EntryType::kPutExtents;
  for (const auto& [off, len] : ranges) e.put.extents.push_back(format::Extent{off, len, 0, 0});
  if (auto bad = format::check_extents(e.put.extents, size))  // limits first, then copy
    throw FormatError("document " + meta_in.id + ": " + *bad);
  append(prefix.data(), prefix.size());
  uint64_t at = 0;  // offset in `data`
  for (auto& x : e.put.extents) {
    x.body_off = body_end_;
    x.crc = copy_in(data, at, x.len, meta_in.id);
    at += x.len;
  }
  header_buf_ += format::encode_entry(e);
  ++documents_;
}

void StoreBuilder::add_link(const std::string& name, const std::string& target) {
  if (finished_) throw std::logic_error("StoreBuilder::add_link after finish");
  check_id_or_throw(name);
  check_id_or_throw(target);
  format::Entry e;
  e.type = format::EntryType::kLink;
  e.put.id = name;
  e.to = target;
  header_buf_ += format::encode_entry(e);
  if (!has_links_) {  // older builds must refuse a header with kLink entries
    has_links_ = true;
    header_buf_.replace(0, format::kFileHeaderSize,
                        format::encode_file_header(format::kHeaderMagic,
                                                   format::FileHeader{format::kLinkFormatVersion, generation_}));
  }
}

void StoreBuilder::finish() {
  if (finished_) return;
  finished_ = true;
  out_.submit(fill_);
  out_.finish();
  for (const auto& [off, bytes] : patches_) body_.pwrite(bytes.data(), bytes.size(), off);
  out_.sync();
  // header.bin last: a store is valid once header.bin exists (as Store::open creates one).
  header_.pwrite(header_buf_.data(), header_buf_.size(), 0);
  header_.sync();
  const std::string hpath = dir_ + "/header.bin";
  if (::rename((hpath + ".new").c_str(), hpath.c_str()) != 0) throw IoError(errno, "rename " + hpath + ".new");
  sync_dir(dir_);
}

}  // namespace docfs
