// Byte streams for the foreign formats: a pull-style input that can be wrapped (by a
// decompressor, by a prefix already read for format detection) and a push-style output.
// Offsets are counted on the outermost stream a user can see, so errors name a byte of
// the file they gave us.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace docfs::interop {

class ByteInput {
 public:
  virtual ~ByteInput() = default;
  // Reads up to n bytes; returns 0 only at the end. Throws FormatError/IoError.
  virtual size_t read(char* buf, size_t n) = 0;

  // Reads exactly n bytes unless the input ends first; returns how many were read.
  size_t read_full(char* buf, size_t n);
};

class ByteOutput {
 public:
  virtual ~ByteOutput() = default;
  virtual void write(std::string_view bytes) = 0;
  // Flushes everything buffered (a compressor writes its trailer here). Called once.
  virtual void finish() {}
};

// An input over an istream (not owned). Throws IoError when the stream fails.
std::unique_ptr<ByteInput> input_from(std::istream& in);
// An input that yields `prefix` first, then the rest of `rest` (format detection reads a
// few bytes ahead and puts them back this way).
std::unique_ptr<ByteInput> prefixed(std::string prefix, std::unique_ptr<ByteInput> rest);
// An output over an ostream (not owned). Throws IoError when the stream fails.
std::unique_ptr<ByteOutput> output_to(std::ostream& out);

// Counts bytes as they pass, for "at byte N" in error messages.
class CountingInput : public ByteInput {
 public:
  explicit CountingInput(ByteInput& in) : in_(in) {}
  size_t read(char* buf, size_t n) override {
    size_t got = in_.read(buf, n);
    offset_ += got;
    return got;
  }
  uint64_t offset() const { return offset_; }

 private:
  ByteInput& in_;
  uint64_t offset_ = 0;
};

}  // namespace docfs::interop
