#include "interop/docarray_v2_stream.h"

#include <zlib.h>

#include "interop/docarray_v2.h"
#include "interop/docarray_v2_pickle.h"
#include "interop/docarray_v2_pickle_writer.h"
#include "interop/gzip_output.h"
#include "interop/framing.h"

namespace docfs::interop {
namespace {

uint32_t big_endian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string put_big_endian32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

std::string gzip_at(std::string_view data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw IoError(ENOMEM, "gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw IoError(EIO, "gzip: deflate did not finish");
  return out;
}

// DocArray's own push uses Python's gzip.compress (level 9); any gzip reads back the same.
// Level 9 made a 1 GiB push of incompressible bytes (images, random) CPU-bound at 19 MiB/s,
// level 1 at 41 MiB/s: so level 1, and stored blocks (level 0, ~850 MiB/s) when a 16 KiB
// sample does not shrink by 5% at level 1.
std::string gzip_fast(std::string_view data) {
  constexpr size_t kSample = 16 << 10;
  if (data.size() > 2 * kSample) {
    std::string probe = gzip_at(data.substr(0, kSample), Z_BEST_SPEED);
    if (probe.size() > kSample * 95 / 100) return gzip_at(data, Z_NO_COMPRESSION);
  }
  return gzip_at(data, Z_BEST_SPEED);
}

class V2Source : public DocumentSource {
 public:
  // pickled: s3:// objects, whose framing holds pickles, not gzip(DocProto) (the whole
  // object's gzip is undone by the caller's input); offsets are then in the gunzipped bytes.
  V2Source(std::unique_ptr<ByteInput> in, std::string class_name, bool pickled)
      : owned_(std::move(in)), in_(*owned_), class_name_(std::move(class_name)), pickled_(pickled) {}

  std::optional<Document> next() override {
    if (done_) return std::nullopt;
    const uint64_t at = in_.offset();
    char len_bytes[4];
    size_t got = in_.read_full(len_bytes, 4);
    if (got < 4)
      throw FormatError("the stream ends at byte " + std::to_string(at + got) + (got ? " inside a length" : "") +
                        " without DocArray's end marker (a u32 0) after " + std::to_string(index_) +
                        " documents (truncated)");
    const uint32_t len = big_endian32(len_bytes);
    if (len == 0) {
      done_ = true;
      char extra;
      if (in_.read(&extra, 1) != 0)
        throw FormatError("bytes follow the end marker at byte " + std::to_string(at) + " (after " +
                          std::to_string(index_) + " documents)");
      return std::nullopt;
    }
    const uint64_t index = index_++;
    const std::string doc = "document " + std::to_string(index);
    if (len > kMaxDocumentBytes)
      throw FormatError(doc + ": length " + std::to_string(len) + " at byte " + std::to_string(at) +
                        " exceeds the limit of " + std::to_string(kMaxDocumentBytes) + " bytes");
    if (read_growing(in_, len, bytes_) < len)
      throw FormatError(doc + ": length " + std::to_string(len) + " at byte " + std::to_string(at) +
                        " runs past the end: the stream ends after " + std::to_string(bytes_.size()) +
                        " of its bytes (truncated)");
    if (pickled_) {
      try {
        PickledDocument p = docproto_from_pickle(bytes_);
        return document_from_v2(p.docproto, class_name_.empty() ? p.class_name : class_name_);
      } catch (const Error& e) {
        throw FormatError(doc + ": its pickle at byte " + std::to_string(at + 4) + " of the gunzipped object: " +
                          e.what());
      }
    }
    std::string plain;
    try {
      plain = decompress(bytes_, Compression::kGzip, kMaxDocumentBytes);
    } catch (const FormatError& e) {
      throw FormatError(doc + ": its gzip bytes at byte " + std::to_string(at + 4) + " do not decompress: " + e.what());
    }
    try {
      return document_from_v2(plain, class_name_);
    } catch (const Error& e) {
      throw BadDocument(index, "", std::string(e.what()) + " (its bytes start at byte " + std::to_string(at + 4) + ")");
    }
  }

 private:
  std::unique_ptr<ByteInput> owned_;
  CountingInput in_;
  std::string class_name_;
  bool pickled_;
  uint64_t index_ = 0;
  bool done_ = false;
  std::string bytes_;
};

class V2Sink : public DocumentSink {
 public:
  explicit V2Sink(ByteOutput& out) : out_(out) {}
  void write(const Document& doc) override {
    std::string proto;
    try {
      proto = document_to_v2(doc);
    } catch (const UsageError& e) {
      throw BadDocument(written_, doc.meta.id, e.what());
    }
    if (proto.size() > kMaxDocumentBytes)
      throw BadDocument(written_, doc.meta.id, "over " + std::to_string(kMaxDocumentBytes) + " bytes as a DocProto");
    std::string bytes = gzip_fast(proto);
    if (bytes.size() > UINT32_MAX)
      throw BadDocument(written_, doc.meta.id, "over 4 GiB compressed; the stream's u32 length cannot hold it");
    out_.write(put_big_endian32(static_cast<uint32_t>(bytes.size())));
    out_.write(bytes);
    ++written_;
  }
  void finish() override { out_.write(put_big_endian32(0)); }

 private:
  ByteOutput& out_;
  uint64_t written_ = 0;
};

// DocArray's s3:// object: one gzip around the same framing, each item a pickle.
class V2PickleSink : public DocumentSink {
 public:
  explicit V2PickleSink(ByteOutput& out) : gzip_(adaptive_gzip_output(out)) {}
  void write(const Document& doc) override {
    std::string pickle;
    try {
      pickle = pickle_from_docproto(document_to_v2(doc), class_of(doc));
    } catch (const UsageError& e) {
      throw BadDocument(written_, doc.meta.id, e.what());
    }
    if (pickle.size() > kMaxDocumentBytes || pickle.size() > UINT32_MAX)
      throw BadDocument(written_, doc.meta.id, "over " + std::to_string(kMaxDocumentBytes) + " bytes as a pickle");
    gzip_->write(put_big_endian32(static_cast<uint32_t>(pickle.size())));
    gzip_->write(pickle);
    ++written_;
  }
  void finish() override {
    gzip_->write(put_big_endian32(0));
    gzip_->finish();
  }

 private:
  // The class the document is pickled as: its DocArray class, or TextDoc for a plain
  // document (document_to_v2 makes it one). The file:// stream does not record classes:
  // a document pulled from one is named only when its fields are TextDoc's or ImageDoc's.
  static std::string class_of(const Document& doc) {
    if (doc.meta.foreign_format != kDocArrayV2Format || doc.meta.foreign_record.empty()) return "TextDoc";
    if (!doc.meta.foreign_class.empty()) return doc.meta.foreign_class;
    throw UsageError(EINVAL, "its DocArray class is unknown (DocArray's file:// stream does not record it, and its "
                             "fields are not TextDoc's or ImageDoc's); a pickle must name it, so it can go to file:// "
                             "remotes only");
  }
  std::unique_ptr<ByteOutput> gzip_;
  uint64_t written_ = 0;
};

}  // namespace

std::unique_ptr<DocumentSource> docarray_v2_source(std::unique_ptr<ByteInput> in, std::string class_name) {
  return std::make_unique<V2Source>(std::move(in), std::move(class_name), false);
}

std::unique_ptr<DocumentSource> docarray_v2_pickle_source(std::unique_ptr<ByteInput> in) {
  return std::make_unique<V2Source>(decompressing(std::move(in), Compression::kGzip), "", true);
}

std::unique_ptr<DocumentSink> docarray_v2_sink(ByteOutput& out) { return std::make_unique<V2Sink>(out); }

std::unique_ptr<DocumentSink> docarray_v2_pickle_sink(ByteOutput& out) { return std::make_unique<V2PickleSink>(out); }

}  // namespace docfs::interop
