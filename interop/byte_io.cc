#include "interop/byte_io.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace docfs::interop {

size_t ByteInput::read_full(char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    size_t got = read(buf + done, n - done);
    if (got == 0) break;
    done += got;
  }
  return done;
}

namespace {

class IstreamInput : public ByteInput {
 public:
  explicit IstreamInput(std::istream& in) : in_(in) {}
  size_t read(char* buf, size_t n) override {
    in_.read(buf, static_cast<std::streamsize>(n));
    size_t got = static_cast<size_t>(in_.gcount());
    if (got == 0 && in_.bad()) throw IoError(errno ? errno : EIO, "read input");
    return got;
  }

 private:
  std::istream& in_;
};

class PrefixedInput : public ByteInput {
 public:
  PrefixedInput(std::string prefix, std::unique_ptr<ByteInput> rest)
      : prefix_(std::move(prefix)), rest_(std::move(rest)) {}
  size_t read(char* buf, size_t n) override {
    if (pos_ < prefix_.size()) {
      size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return rest_->read(buf, n);
  }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  std::unique_ptr<ByteInput> rest_;
};

class OstreamOutput : public ByteOutput {
 public:
  explicit OstreamOutput(std::ostream& out) : out_(out) {}
  void write(std::string_view bytes) override {
    out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out_) throw IoError(errno ? errno : EIO, "write output");
  }
  void finish() override {
    out_.flush();
    if (!out_) throw IoError(errno ? errno : EIO, "write output");
  }

 private:
  std::ostream& out_;
};

}  // namespace

std::unique_ptr<ByteInput> input_from(std::istream& in) { return std::make_unique<IstreamInput>(in); }

std::unique_ptr<ByteInput> prefixed(std::string prefix, std::unique_ptr<ByteInput> rest) {
  return std::make_unique<PrefixedInput>(std::move(prefix), std::move(rest));
}

std::unique_ptr<ByteOutput> output_to(std::ostream& out) { return std::make_unique<OstreamOutput>(out); }

}  // namespace docfs::interop
