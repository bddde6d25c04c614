#include "interop/binary_stream.h"

#include <cstdio>

#include "interop/framing.h"

namespace docfs::interop {
namespace {

constexpr size_t kHeaderBytes = 9;  // version byte + u64 count

uint64_t big_endian(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void put_big_endian(std::string& out, uint64_t v, size_t n) {
  for (size_t i = n; i-- > 0;) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

class StreamSource : public DocumentSource {
 public:
  StreamSource(std::unique_ptr<ByteInput> in, Compression per_doc)
      : owned_(std::move(in)), in_(*owned_), per_doc_(per_doc) {}

  std::optional<Document> next() override {
    if (!header_read_) read_header();
    uint64_t at = in_.offset();
    if (index_ == count_) {
      char extra;
      if (in_.read(&extra, 1) != 0)
        throw FormatError("the stream says " + std::to_string(count_) + " documents, but bytes follow them at byte " +
                          std::to_string(at));
      return std::nullopt;
    }
    char len_bytes[4];
    size_t got = in_.read_full(len_bytes, 4);
    if (got == 0)
      throw FormatError("the stream says " + std::to_string(count_) + " documents, ends after " +
                        std::to_string(index_) + " at byte " + std::to_string(at));
    if (got < 4)
      throw FormatError("document " + std::to_string(index_) + ": the stream ends inside its length at byte " +
                        std::to_string(at + got));
    uint64_t len = big_endian(len_bytes, 4);
    if (len > kMaxDocumentBytes)
      throw FormatError("document " + std::to_string(index_) + ": length " + std::to_string(len) + " at byte " +
                        std::to_string(at) + " exceeds the limit of " + std::to_string(kMaxDocumentBytes) + " bytes");
    if (read_growing(in_, len, bytes_) < len)
      throw FormatError("document " + std::to_string(index_) + ": length " + std::to_string(len) + " at byte " +
                        std::to_string(at) + ", but the stream ends after " + std::to_string(bytes_.size()) +
                        " of its bytes");
    uint64_t index = index_++;
    // The framing is intact from here on: a document that does not decode can be skipped.
    std::string plain;
    try {
      plain = decompress(bytes_, per_doc_, kMaxDocumentBytes);
    } catch (const FormatError& e) {
      throw BadDocument(index, "", std::string(e.what()) + " (its bytes start at byte " + std::to_string(at + 4) + ")");
    }
    return parse_document(plain, ProtoSchema::kDocArrayV0, index);
  }

 private:
  void read_header() {
    header_read_ = true;
    char h[kHeaderBytes];
    size_t got = in_.read_full(h, kHeaderBytes);
    if (got == 0) throw FormatError("the stream is empty (no 9-byte header)");
    if (h[0] != 0x01) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(h[0]));
      throw FormatError(std::string("byte 0 is ") + hex +
                        ", not 0x01 (DocArray's binary stream version 1; older versions are not read)");
    }
    if (got < kHeaderBytes) throw FormatError("the stream ends inside its 9-byte header, at byte " + std::to_string(got));
    count_ = big_endian(h + 1, 8);
  }

  std::unique_ptr<ByteInput> owned_;
  CountingInput in_;
  Compression per_doc_;
  bool header_read_ = false;
  uint64_t count_ = 0;
  uint64_t index_ = 0;
  std::string bytes_;
};

class StreamSink : public DocumentSink {
 public:
  StreamSink(ByteOutput& out, Compression per_doc, uint64_t count)
      : out_(out), per_doc_(per_doc == Compression::kAuto ? Compression::kNone : per_doc), count_(count) {
    std::string header(1, '\x01');
    put_big_endian(header, count, 8);
    out_.write(header);
  }
  void write(const Document& doc) override {
    if (written_ >= count_)
      throw UsageError(EINVAL, "the stream header says " + std::to_string(count_) +
                                   " documents; document '" + doc.meta.id + "' would be one more");
    std::string bytes = compress(serialize_document(doc, written_), per_doc_);
    if (bytes.size() > UINT32_MAX)
      throw BadDocument(written_, doc.meta.id, "over 4 GiB; the stream's u32 length cannot hold it");
    std::string len;
    put_big_endian(len, bytes.size(), 4);
    out_.write(len);
    out_.write(bytes);
    ++written_;
  }
  // Checks the count; `out` is its owner's to finish.
  void finish() override {
    if (written_ != count_)
      throw UsageError(EINVAL, "the stream header says " + std::to_string(count_) + " documents, " +
                                   std::to_string(written_) + " were written");
  }

 private:
  ByteOutput& out_;
  Compression per_doc_;
  uint64_t count_;
  uint64_t written_ = 0;
};

}  // namespace

std::unique_ptr<DocumentSource> stream_source(std::unique_ptr<ByteInput> in, Compression per_doc) {
  return std::make_unique<StreamSource>(std::move(in), per_doc);
}

std::unique_ptr<DocumentSink> stream_sink(ByteOutput& out, Compression per_doc, uint64_t count) {
  return std::make_unique<StreamSink>(out, per_doc, count);
}

}  // namespace docfs::interop
