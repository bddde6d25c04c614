// Fuzzes DocArray's binary stream reader: framing, per-document decompression (sniffed),
// DocumentProto parsing and conversion. Stepping over bad documents as --skip-bad would.
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "interop/binary_stream.h"

namespace {

class BytesInput : public docfs::interop::ByteInput {
 public:
  BytesInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t read(char* buf, size_t n) override {
    size_t k = std::min(n, size_ - pos_);
    std::memcpy(buf, data_ + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto src = docfs::interop::stream_source(std::make_unique<BytesInput>(data, size),
                                           docfs::interop::Compression::kAuto);
  for (int docs = 0; docs < 10000; ++docs) {
    try {
      if (!src->next()) break;
    } catch (const docfs::interop::BadDocument&) {
      continue;  // the framing is intact: the next document is readable
    } catch (const docfs::Error&) {
      break;
    }
  }
  return 0;
}
