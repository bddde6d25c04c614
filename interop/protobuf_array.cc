#include "interop/protobuf_array.h"

#include "interop/framing.h"

namespace docfs::interop {
namespace {

constexpr unsigned char kDocsTag = (1 << 3) | 2;  // field 1 (docs), length-delimited

class ProtobufArraySource : public DocumentSource {
 public:
  ProtobufArraySource(std::unique_ptr<ByteInput> in, std::optional<ProtoSchema> schema)
      : owned_(std::move(in)), in_(*owned_), schema_(schema) {}

  // Reads one `docs` entry: its tag and length ourselves (limits first), then only its bytes.
  std::optional<Document> next() override {
    uint64_t at = in_.offset();
    std::optional<uint64_t> tag = varint(true);
    if (!tag) return std::nullopt;
    if (*tag != kDocsTag)
      throw FormatError("byte " + std::to_string(at) + ": field " + std::to_string(*tag >> 3) + " (wire type " +
                        std::to_string(*tag & 7) + ") is not DocumentArrayProto's docs (field 1, length-delimited)");
    uint64_t len = *varint(false);
    if (len > kMaxDocumentBytes)
      throw FormatError("document " + std::to_string(index_) + ": length " + std::to_string(len) + " at byte " +
                        std::to_string(at) + " exceeds the limit of " + std::to_string(kMaxDocumentBytes) + " bytes");
    if (read_growing(in_, len, bytes_) < len)
      throw FormatError("document " + std::to_string(index_) + ": length " + std::to_string(len) + " at byte " +
                        std::to_string(at) + ", but the input ends after " + std::to_string(bytes_.size()) +
                        " of its bytes");
    if (!schema_) schema_ = guess_schema(bytes_);
    return parse_document(bytes_, *schema_, index_++);
  }

 private:
  // A protobuf varint; nullopt at a clean end of input when `end_ok`.
  std::optional<uint64_t> varint(bool end_ok) {
    uint64_t start = in_.offset();
    uint64_t v = 0;
    for (int i = 0; i < 10; ++i) {
      char c;
      if (in_.read(&c, 1) == 0) {
        if (i == 0 && end_ok) return std::nullopt;
        throw FormatError("the input ends inside a varint at byte " + std::to_string(in_.offset()) + " (document " +
                          std::to_string(index_) + ")");
      }
      unsigned char b = static_cast<unsigned char>(c);
      if (i == 9 && b > 1) break;
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return v;
    }
    throw FormatError("byte " + std::to_string(start) + ": a varint longer than 64 bits");
  }

  std::unique_ptr<ByteInput> owned_;
  CountingInput in_;
  std::optional<ProtoSchema> schema_;
  uint64_t index_ = 0;
  std::string bytes_;
};

class ProtobufArraySink : public DocumentSink {
 public:
  ProtobufArraySink(ByteOutput& out, Compression whole)
      : compressor_(whole == Compression::kNone || whole == Compression::kAuto ? nullptr : compressing(out, whole)),
        out_(compressor_ ? *compressor_ : out) {}
  void write(const Document& doc) override {
    std::string bytes = serialize_document(doc, written_);
    std::string head(1, static_cast<char>(kDocsTag));
    for (uint64_t n = bytes.size(); ; n >>= 7) {
      if (n < 0x80) {
        head += static_cast<char>(n);
        break;
      }
      head += static_cast<char>((n & 0x7f) | 0x80);
    }
    out_.write(head);
    out_.write(bytes);
    ++written_;
  }
  // Ends the compressor (its trailer); the caller's `out` is its owner's to finish.
  void finish() override {
    if (compressor_) compressor_->finish();
  }

 private:
  std::unique_ptr<ByteOutput> compressor_;
  ByteOutput& out_;
  uint64_t written_ = 0;
};

}  // namespace

std::unique_ptr<DocumentSource> protobuf_array_source(std::unique_ptr<ByteInput> in,
                                                      std::optional<ProtoSchema> schema) {
  return std::make_unique<ProtobufArraySource>(std::move(in), schema);
}

std::unique_ptr<DocumentSink> protobuf_array_sink(ByteOutput& out, Compression whole) {
  // DocArray 0.21.1 has no streaming zlib (helper.get_compress_ctx): its save_binary writes a
  // "zlib" protobuf-array uncompressed and its load_binary does not decompress one.
  if (whole == Compression::kZlib)
    throw UsageError(EINVAL, "DocArray cannot read a zlib-compressed protobuf-array (it saves those uncompressed); "
                             "use gzip, bz2, lzma or lz4, or zlib with the stream format");
  return std::make_unique<ProtobufArraySink>(out, whole);
}

}  // namespace docfs::interop
