#include "interop/gzip_output.h"

#include <zlib.h>

#include <cerrno>
#include <string>

#include "core/error.h"

namespace docfs::interop {
namespace {

constexpr size_t kSample = 16 << 10;
constexpr size_t kOutChunk = 256 << 10;

// True when a level-1 deflate of the sample saves less than 5%.
bool incompressible(std::string_view sample) {
  uLongf cap = compressBound(sample.size());
  std::string out(cap, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &cap, reinterpret_cast<const Bytef*>(sample.data()),
                sample.size(), Z_BEST_SPEED) != Z_OK)
    return false;
  return cap > sample.size() * 95 / 100;
}

class AdaptiveGzip : public ByteOutput {
 public:
  explicit AdaptiveGzip(ByteOutput& out) : out_(out), buf_(kOutChunk, '\0') {
    if (deflateInit2(&z_, level_, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw IoError(ENOMEM, "gzip: deflateInit2 failed");
  }
  ~AdaptiveGzip() override { deflateEnd(&z_); }

  void write(std::string_view data) override {
    if (data.size() > 2 * kSample) {
      // Sample the end: a pickle starts with field names, the payload comes last.
      const int want = incompressible(data.substr(data.size() - kSample)) ? Z_NO_COMPRESSION : Z_BEST_SPEED;
      if (want != level_) {
        run({}, Z_BLOCK);  // everything so far goes out at the old level
        if (deflateParams(&z_, want, Z_DEFAULT_STRATEGY) != Z_OK) throw IoError(EIO, "gzip: deflateParams failed");
        level_ = want;
      }
    }
    while (!data.empty()) {  // avail_in is 32-bit
      std::string_view part = data.substr(0, 1u << 30);
      run(part, Z_NO_FLUSH);
      data.remove_prefix(part.size());
    }
  }
  void finish() override { run({}, Z_FINISH); }

 private:
  void run(std::string_view in, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    while (true) {
      z_.next_out = reinterpret_cast<Bytef*>(buf_.data());
      z_.avail_out = static_cast<uInt>(buf_.size());
      const int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) throw IoError(EIO, "gzip: deflate failed");
      const size_t produced = buf_.size() - z_.avail_out;
      if (produced) out_.write(std::string_view(buf_.data(), produced));
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) return;
    }
  }

  ByteOutput& out_;
  z_stream z_{};
  int level_ = Z_BEST_SPEED;
  std::string buf_;
};

}  // namespace

std::unique_ptr<ByteOutput> adaptive_gzip_output(ByteOutput& out) { return std::make_unique<AdaptiveGzip>(out); }

}  // namespace docfs::interop
