#include "interop/compression.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

#include "core/error.h"

namespace docfs::interop {
namespace {

constexpr size_t kChunk = 64 * 1024;
// liblzma may use this much memory for its dictionary; xz -9 needs 64 MiB.
constexpr uint64_t kLzmaMemLimit = 256ull << 20;

// One direction of one codec, fed in pieces. decode() consumes part of `in` and writes at
// most `cap` bytes; `in_ended` says no input follows what `in` holds. Every call with input
// or room either moves, or throws, or has nothing left to do (returns 0, consumes nothing).
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual size_t decode(std::string_view& in, char* out, size_t cap) = 0;
  // True when the bytes consumed so far are whole compressed streams (none is cut short).
  virtual bool complete() const = 0;
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  virtual void encode(std::string_view in, std::string& out) = 0;
  virtual void end(std::string& out) = 0;
};

unsigned clamp_uint(size_t n) { return static_cast<unsigned>(std::min<size_t>(n, 1u << 30)); }

[[noreturn]] void corrupt(std::string_view codec, std::string_view why) {
  throw FormatError(std::string(codec) + " data is corrupt: " + std::string(why));
}

// zlib and gzip. A gzip file may hold several members back to back (gzip.decompress reads
// them all); a zlib stream is one.
class ZlibDecoder : public Decoder {
 public:
  explicit ZlibDecoder(bool gzip) : gzip_(gzip) {
    if (inflateInit2(&z_, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  ~ZlibDecoder() override { inflateEnd(&z_); }
  size_t decode(std::string_view& in, char* out, size_t cap) override {
    if (ended_ && !in.empty()) {
      if (!gzip_) corrupt(name(), "bytes follow the end of the stream");
      inflateReset(&z_);
      ended_ = false;
    }
    if (ended_ || cap == 0) return 0;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = clamp_uint(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = clamp_uint(cap);
    unsigned in_before = z_.avail_in, out_before = z_.avail_out;
    int r = inflate(&z_, Z_NO_FLUSH);
    in.remove_prefix(in_before - z_.avail_in);
    if (in_before != z_.avail_in) started_ = true;
    if (r == Z_STREAM_END) {
      ended_ = true;
    } else if (r != Z_OK && r != Z_BUF_ERROR) {
      corrupt(name(), z_.msg ? z_.msg : "inflate error " + std::to_string(r));
    }
    return out_before - z_.avail_out;
  }
  bool complete() const override { return ended_ || !started_; }

 private:
  std::string_view name() const { return gzip_ ? "gzip" : "zlib"; }
  z_stream z_{};
  bool gzip_;
  bool ended_ = false;
  bool started_ = false;
};

class Bz2Decoder : public Decoder {
 public:
  Bz2Decoder() { init(); }
  ~Bz2Decoder() override { BZ2_bzDecompressEnd(&s_); }
  size_t decode(std::string_view& in, char* out, size_t cap) override {
    if (ended_ && !in.empty()) {  // bz2.decompress reads concatenated streams
      BZ2_bzDecompressEnd(&s_);
      init();
      ended_ = false;
    }
    if (ended_ || cap == 0) return 0;
    s_.next_in = const_cast<char*>(in.data());
    s_.avail_in = clamp_uint(in.size());
    s_.next_out = out;
    s_.avail_out = clamp_uint(cap);
    unsigned in_before = s_.avail_in, out_before = s_.avail_out;
    int r = in.empty() && !started_ ? BZ_OK : BZ2_bzDecompress(&s_);
    in.remove_prefix(in_before - s_.avail_in);
    if (in_before != s_.avail_in) started_ = true;
    if (r == BZ_STREAM_END) {
      ended_ = true;
    } else if (r != BZ_OK) {
      corrupt("bz2", "BZ2_bzDecompress error " + std::to_string(r));
    }
    return out_before - s_.avail_out;
  }
  bool complete() const override { return ended_ || !started_; }

 private:
  void init() {
    s_ = bz_stream{};
    if (BZ2_bzDecompressInit(&s_, 0, 0) != BZ_OK) throw std::bad_alloc();
  }
  bz_stream s_{};
  bool ended_ = false;
  bool started_ = false;
};

// xz (what Python's lzma.compress writes by default) and the older .lzma "alone" format.
class LzmaDecoder : public Decoder {
 public:
  LzmaDecoder() { init(); }
  ~LzmaDecoder() override { lzma_end(&s_); }
  size_t decode(std::string_view& in, char* out, size_t cap) override {
    if (ended_ && !in.empty()) {
      lzma_end(&s_);
      init();
      ended_ = false;
    }
    if (ended_ || cap == 0) return 0;
    s_.next_in = reinterpret_cast<const uint8_t*>(in.data());
    s_.avail_in = in.size();
    s_.next_out = reinterpret_cast<uint8_t*>(out);
    s_.avail_out = cap;
    size_t in_before = s_.avail_in, out_before = s_.avail_out;
    lzma_ret r = lzma_code(&s_, LZMA_RUN);
    in.remove_prefix(in_before - s_.avail_in);
    if (in_before != s_.avail_in) started_ = true;
    if (r == LZMA_STREAM_END) {
      ended_ = true;
    } else if (r == LZMA_MEMLIMIT_ERROR) {
      corrupt("lzma", "it needs more than 256 MiB of memory to decode");
    } else if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
      corrupt("lzma", "lzma_code error " + std::to_string(static_cast<int>(r)));
    }
    return out_before - s_.avail_out;
  }
  bool complete() const override { return ended_ || !started_; }

 private:
  void init() {
    s_ = LZMA_STREAM_INIT;
    if (lzma_auto_decoder(&s_, kLzmaMemLimit, 0) != LZMA_OK) throw std::bad_alloc();
  }
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool ended_ = false;
  bool started_ = false;
};

// lz4's frame format (lz4.frame.compress), not the raw block format.
class Lz4Decoder : public Decoder {
 public:
  Lz4Decoder() {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx_, LZ4F_VERSION))) throw std::bad_alloc();
  }
  ~Lz4Decoder() override { LZ4F_freeDecompressionContext(ctx_); }
  size_t decode(std::string_view& in, char* out, size_t cap) override {
    if (cap == 0 || (in.empty() && frame_done_)) return 0;
    size_t in_size = in.size(), out_size = cap;
    size_t r = LZ4F_decompress(ctx_, out, &out_size, in.data(), &in_size, nullptr);
    if (LZ4F_isError(r)) corrupt("lz4", LZ4F_getErrorName(r));
    in.remove_prefix(in_size);
    if (in_size > 0 || out_size > 0) frame_done_ = (r == 0);  // 0: a frame ended exactly here
    return out_size;
  }
  bool complete() const override { return frame_done_; }

 private:
  LZ4F_dctx* ctx_ = nullptr;
  bool frame_done_ = true;
};

class ZlibEncoder : public Encoder {
 public:
  explicit ZlibEncoder(bool gzip) {
    // Level 6 (zlib's default) for both. Python's gzip.compress uses 9, which on float
    // arrays costs three times the CPU for a few percent of size (bench-interop.sh: a
    // 100,000-document stream export took 110 s at 9); any level reads back the same.
    if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip ? 16 + MAX_WBITS : MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::bad_alloc();
  }
  ~ZlibEncoder() override { deflateEnd(&z_); }
  void encode(std::string_view in, std::string& out) override { run(in, out, Z_NO_FLUSH); }
  void end(std::string& out) override { run({}, out, Z_FINISH); }

 private:
  void run(std::string_view in, std::string& out, int flush) {
    while (true) {
      unsigned piece = clamp_uint(in.size());
      z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      z_.avail_in = piece;
      size_t old = out.size();
      out.resize(old + kChunk);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      z_.avail_out = kChunk;
      int r = deflate(&z_, in.size() > piece ? Z_NO_FLUSH : flush);
      out.resize(old + kChunk - z_.avail_out);
      in.remove_prefix(piece - z_.avail_in);
      if (r == Z_STREAM_END) return;
      if (r != Z_OK && r != Z_BUF_ERROR) throw FormatError("deflate failed: " + std::to_string(r));
      if (in.empty() && z_.avail_out != 0 && flush != Z_FINISH) return;
    }
  }
  z_stream z_{};
};

class Bz2Encoder : public Encoder {
 public:
  Bz2Encoder() {
    if (BZ2_bzCompressInit(&s_, 9, 0, 0) != BZ_OK) throw std::bad_alloc();
  }
  ~Bz2Encoder() override { BZ2_bzCompressEnd(&s_); }
  void encode(std::string_view in, std::string& out) override { run(in, out, BZ_RUN); }
  void end(std::string& out) override { run({}, out, BZ_FINISH); }

 private:
  void run(std::string_view in, std::string& out, int action) {
    while (true) {
      unsigned piece = clamp_uint(in.size());
      s_.next_in = const_cast<char*>(in.data());
      s_.avail_in = piece;
      size_t old = out.size();
      out.resize(old + kChunk);
      s_.next_out = out.data() + old;
      s_.avail_out = kChunk;
      int r = BZ2_bzCompress(&s_, in.size() > piece ? BZ_RUN : action);
      out.resize(old + kChunk - s_.avail_out);
      in.remove_prefix(piece - s_.avail_in);
      if (r == BZ_STREAM_END) return;
      if (r != BZ_RUN_OK && r != BZ_FINISH_OK) throw FormatError("bz2 compression failed: " + std::to_string(r));
      if (action == BZ_RUN && in.empty()) return;
    }
  }
  bz_stream s_{};
};

class LzmaEncoder : public Encoder {
 public:
  LzmaEncoder() {
    // lzma.compress(): the xz container, preset 6, CRC64 check.
    if (lzma_easy_encoder(&s_, 6, LZMA_CHECK_CRC64) != LZMA_OK) throw std::bad_alloc();
  }
  ~LzmaEncoder() override { lzma_end(&s_); }
  void encode(std::string_view in, std::string& out) override { run(in, out, LZMA_RUN); }
  void end(std::string& out) override { run({}, out, LZMA_FINISH); }

 private:
  void run(std::string_view in, std::string& out, lzma_action action) {
    s_.next_in = reinterpret_cast<const uint8_t*>(in.data());
    s_.avail_in = in.size();
    while (true) {
      size_t old = out.size();
      out.resize(old + kChunk);
      s_.next_out = reinterpret_cast<uint8_t*>(out.data() + old);
      s_.avail_out = kChunk;
      lzma_ret r = lzma_code(&s_, action);
      out.resize(old + kChunk - s_.avail_out);
      if (r == LZMA_STREAM_END) return;
      if (r != LZMA_OK) throw FormatError("lzma compression failed: " + std::to_string(static_cast<int>(r)));
      if (action == LZMA_RUN && s_.avail_in == 0) return;
    }
  }
  lzma_stream s_ = LZMA_STREAM_INIT;
};

class Lz4Encoder : public Encoder {
 public:
  Lz4Encoder() {
    if (LZ4F_isError(LZ4F_createCompressionContext(&ctx_, LZ4F_VERSION))) throw std::bad_alloc();
  }
  ~Lz4Encoder() override { LZ4F_freeCompressionContext(ctx_); }
  void encode(std::string_view in, std::string& out) override {
    begin(out);
    while (!in.empty()) {
      size_t piece = std::min(in.size(), kChunk);
      size_t old = out.size();
      out.resize(old + LZ4F_compressBound(piece, &prefs_));
      size_t n = LZ4F_compressUpdate(ctx_, out.data() + old, out.size() - old, in.data(), piece, nullptr);
      check(n);
      out.resize(old + n);
      in.remove_prefix(piece);
    }
  }
  void end(std::string& out) override {
    begin(out);
    size_t old = out.size();
    out.resize(old + LZ4F_compressBound(0, &prefs_));
    size_t n = LZ4F_compressEnd(ctx_, out.data() + old, out.size() - old, nullptr);
    check(n);
    out.resize(old + n);
  }

 private:
  void begin(std::string& out) {
    if (begun_) return;
    begun_ = true;
    size_t old = out.size();
    out.resize(old + LZ4F_HEADER_SIZE_MAX);
    size_t n = LZ4F_compressBegin(ctx_, out.data() + old, LZ4F_HEADER_SIZE_MAX, &prefs_);
    check(n);
    out.resize(old + n);
  }
  static void check(size_t r) {
    if (LZ4F_isError(r)) throw FormatError(std::string("lz4 compression failed: ") + LZ4F_getErrorName(r));
  }
  LZ4F_cctx* ctx_ = nullptr;
  LZ4F_preferences_t prefs_{};
  bool begun_ = false;
};

std::unique_ptr<Decoder> make_decoder(Compression c) {
  switch (c) {
    case Compression::kGzip: return std::make_unique<ZlibDecoder>(true);
    case Compression::kZlib: return std::make_unique<ZlibDecoder>(false);
    case Compression::kBz2: return std::make_unique<Bz2Decoder>();
    case Compression::kLzma: return std::make_unique<LzmaDecoder>();
    case Compression::kLz4: return std::make_unique<Lz4Decoder>();
    case Compression::kAuto:
    case Compression::kNone: break;
  }
  return nullptr;
}

std::unique_ptr<Encoder> make_encoder(Compression c) {
  switch (c) {
    case Compression::kGzip: return std::make_unique<ZlibEncoder>(true);
    case Compression::kZlib: return std::make_unique<ZlibEncoder>(false);
    case Compression::kBz2: return std::make_unique<Bz2Encoder>();
    case Compression::kLzma: return std::make_unique<LzmaEncoder>();
    case Compression::kLz4: return std::make_unique<Lz4Encoder>();
    case Compression::kAuto:
    case Compression::kNone: break;
  }
  return nullptr;
}

[[noreturn]] void truncated(Compression c, uint64_t consumed) {
  throw FormatError(std::string(compression_name(c)) + " data ends too early (after " + std::to_string(consumed) +
                    " compressed bytes)");
}

class DecompressingInput : public ByteInput {
 public:
  DecompressingInput(std::unique_ptr<ByteInput> in, Compression c)
      : in_(std::move(in)), c_(c), decoder_(make_decoder(c)), buf_(kChunk, '\0') {}
  size_t read(char* out, size_t n) override {
    if (n == 0) return 0;
    while (true) {
      size_t before = pending_.size();
      size_t got;
      try {
        got = decoder_->decode(pending_, out, n);
      } catch (const FormatError& e) {
        throw FormatError(std::string(e.what()) + " (near compressed byte " + std::to_string(consumed_) + ")");
      }
      consumed_ += before - pending_.size();
      if (got > 0) return got;
      if (!pending_.empty() && before != pending_.size()) continue;  // took header bytes, no output yet
      if (!pending_.empty()) corrupt(compression_name(c_), "the decoder stopped at byte " + std::to_string(consumed_));
      if (eof_) {
        if (!decoder_->complete()) truncated(c_, consumed_);
        return 0;
      }
      size_t k = in_->read(buf_.data(), buf_.size());
      if (k == 0) eof_ = true;
      pending_ = std::string_view(buf_.data(), k);
    }
  }

 private:
  std::unique_ptr<ByteInput> in_;
  Compression c_;
  std::unique_ptr<Decoder> decoder_;
  std::string buf_;
  std::string_view pending_;
  bool eof_ = false;
  uint64_t consumed_ = 0;
};

// Compresses into `out`, in pieces of at most kChunk buffered bytes. finish() writes the
// trailer; `out` itself is its owner's to finish.
class CompressingOutput : public ByteOutput {
 public:
  CompressingOutput(ByteOutput& out, Compression c) : out_(out), encoder_(make_encoder(c)) {}
  void write(std::string_view bytes) override {
    if (!encoder_) return out_.write(bytes);
    while (!bytes.empty()) {
      size_t piece = std::min(bytes.size(), kChunk);
      encoder_->encode(bytes.substr(0, piece), buf_);
      bytes.remove_prefix(piece);
      if (buf_.size() >= kChunk) flush();
    }
  }
  void finish() override {
    if (encoder_) encoder_->end(buf_);
    flush();
  }

 private:
  void flush() {
    if (!buf_.empty()) out_.write(buf_);
    buf_.clear();
  }
  ByteOutput& out_;
  std::unique_ptr<Encoder> encoder_;
  std::string buf_;
};

}  // namespace

std::optional<Compression> parse_compression(std::string_view name) {
  if (name == "gzip") return Compression::kGzip;
  if (name == "zlib") return Compression::kZlib;
  if (name == "bz2") return Compression::kBz2;
  if (name == "lzma") return Compression::kLzma;
  if (name == "lz4") return Compression::kLz4;
  if (name == "none") return Compression::kNone;
  if (name == "auto") return Compression::kAuto;
  return std::nullopt;
}

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kAuto: return "auto";
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kZlib: return "zlib";
    case Compression::kBz2: return "bz2";
    case Compression::kLzma: return "lzma";
    case Compression::kLz4: return "lz4";
  }
  return "?";
}

Compression sniff_compression(std::string_view b) {
  auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return Compression::kGzip;
  if (starts("BZh")) return Compression::kBz2;
  if (starts(std::string_view("\xfd" "7zXZ\0", 6))) return Compression::kLzma;
  if (starts("\x04\x22\x4d\x18")) return Compression::kLz4;
  if (b.size() >= 2 && b[0] == 0x78) {
    // zlib: deflate with a 32 KiB window; the two header bytes are a multiple of 31.
    unsigned h = (0x78u << 8) | static_cast<unsigned char>(b[1]);
    if (h % 31 == 0) return Compression::kZlib;
  }
  return Compression::kNone;
}

std::string compress(std::string_view data, Compression c) {
  auto enc = make_encoder(c);
  if (!enc) return std::string(data);
  std::string out;
  enc->encode(data, out);
  enc->end(out);
  return out;
}

std::string decompress(std::string_view data, Compression c, size_t limit) {
  if (c == Compression::kAuto) c = sniff_compression(data);
  auto dec = make_decoder(c);
  if (!dec) {
    if (data.size() > limit)
      throw FormatError(std::to_string(data.size()) + " bytes exceed the limit of " + std::to_string(limit));
    return std::string(data);
  }
  std::string out;
  size_t total_in = data.size();
  while (true) {
    size_t remaining = limit - out.size();  // out.size() <= limit here
    size_t room = remaining >= kChunk ? kChunk : remaining + 1;  // +1 to see that it goes past
    size_t old = out.size();
    out.resize(old + room);
    size_t before = data.size();
    size_t got = dec->decode(data, out.data() + old, room);
    out.resize(old + got);
    if (out.size() > limit)
      throw FormatError(std::string(compression_name(c)) + " data expands beyond the limit of " +
                        std::to_string(limit) + " bytes");
    if (got == 0 && before == data.size()) {
      if (!data.empty()) corrupt(compression_name(c), "the decoder stopped at byte " + std::to_string(total_in - data.size()));
      if (!dec->complete()) truncated(c, total_in);
      return out;
    }
  }
}

std::unique_ptr<ByteInput> decompressing(std::unique_ptr<ByteInput> in, Compression c) {
  if (c == Compression::kNone) return in;
  if (c == Compression::kAuto) {
    std::string head(8, '\0');
    head.resize(in->read_full(head.data(), head.size()));
    c = sniff_compression(head);
    in = prefixed(std::move(head), std::move(in));
    if (c == Compression::kNone) return in;
  }
  return std::make_unique<DecompressingInput>(std::move(in), c);
}

std::unique_ptr<ByteOutput> compressing(ByteOutput& out, Compression c) {
  if (c == Compression::kAuto) throw UsageError(EINVAL, "compressing needs a compression, not auto");
  return std::make_unique<CompressingOutput>(out, c);
}

}  // namespace docfs::interop
