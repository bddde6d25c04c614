// Torn and corrupted writes without a crash, in random trials: a store built by a random
// history of puts, overwrites, tag changes, deletes and renames gets the tail of header.bin
// or body.bin truncated or zeroed at a random offset, or random bytes flipped anywhere.
// Then, read-only and writable:
//   * the store opens, or fails with an Error naming the file (header.bin / body.bin);
//   * never a crash (run under ASan/UBSan in CI);
//   * every document served is byte-identical to a version that was visible under that id
//     at some point of the history (never a wrong or mixed document);
//   * after only a tail cut or zeroing (a torn write), the whole store equals the state
//     after some prefix of the history: only torn records were dropped.
// DOCFS_TORN_TRIALS sets the trial count (default 300), DOCFS_TORN_SEED the seed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "test_util.h"

namespace docfs {
namespace {

using testing::TempDir;
using Version = std::tuple<std::string, docfs::Tags, std::string>;  // content, tags, mime
using State = std::map<std::string, Version>;

uint64_t env_or(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Builds a store in `dir` from a random history; returns the state after every step.
std::vector<State> build(const std::string& dir, std::mt19937_64& rng) {
  std::vector<State> snaps{State{}};
  State st;
  auto store = Store::open(dir, OpenOptions{.create = true, .read_only = false});
  const int ops = 10 + static_cast<int>(rng() % 40);
  for (int i = 0; i < ops; ++i) {
    const std::string id = "d" + std::to_string(rng() % 12) + (rng() % 3 == 0 ? "/x" : "");
    const int op = static_cast<int>(rng() % 10);
    if (op < 5 || st.empty()) {  // put (create or overwrite)
      Document d;
      d.meta.id = id;
      d.meta.mime_type = rng() % 2 ? "text/plain" : "";
      d.meta.tags["n"] = std::to_string(i);
      size_t n = rng() % 8 == 0 ? rng() % 70000 : rng() % 3000;
      d.content = random_bytes(rng, n);
      store->put(d);
      st[id] = {d.content, d.meta.tags, d.meta.mime_type};
    } else {
      auto it = st.begin();
      std::advance(it, rng() % st.size());
      const std::string victim = it->first;
      if (op < 7) {  // tags only
        auto meta = store->meta(victim);
        if (!meta) throw std::logic_error("meta of " + victim + " vanished");
        meta->tags["t"] = random_bytes(rng, 1 + rng() % 20);
        store->update_meta(*meta);
        std::get<1>(st[victim]) = meta->tags;
      } else if (op < 9) {
        store->remove(victim);
        st.erase(victim);
      } else {
        if (victim == id) continue;
        store->rename(victim, id);
        st[id] = st[victim];
        st.erase(victim);
      }
    }
    snaps.push_back(st);
  }
  store->sync();
  return snaps;
}

// What the store serves, or nullopt when it refuses to open; `why` gets the error.
std::optional<State> read_all(const std::string& dir, bool read_only, std::string* why, int* bad_docs,
                              std::vector<std::string>* doc_errors) {
  std::unique_ptr<Store> s;
  try {
    s = Store::open(dir, OpenOptions{.create = false, .read_only = read_only});
  } catch (const Error& e) {
    *why = e.what();
    return std::nullopt;
  }
  State out;
  for (const auto& id : s->ids()) {
    try {
      auto d = s->get(id);
      if (!d) continue;
      out[id] = {d->content, d->meta.tags, d->meta.mime_type};
    } catch (const Error& e) {
      ++*bad_docs;  // detected and refused (a checksum): fine, must name the file
      doc_errors->push_back(e.what());
    }
  }
  return out;
}

TEST(TornWritesRandom, OpensDroppingOnlyTornRecordsOrFailsClearly) {
  const uint64_t trials = env_or("DOCFS_TORN_TRIALS", 300);
  const uint64_t seed = env_or("DOCFS_TORN_SEED", std::random_device{}());
  std::mt19937_64 rng(seed);
  int opened = 0, refused = 0, docs_served = 0, docs_refused = 0, wrong = 0, torn_only = 0;
  std::map<std::string, int> kinds;
  for (uint64_t t = 0; t < trials; ++t) {
    SCOPED_TRACE("trial " + std::to_string(t) + " seed " + std::to_string(seed));
    TempDir tmp;
    const std::string dir = tmp / "s";
    auto snaps = build(dir, rng);
    std::map<std::string, std::set<Version>> ever;  // every version visible under an id
    for (const auto& s : snaps)
      for (const auto& [id, v] : s) ever[id].insert(v);

    const std::string file = rng() % 2 ? "header.bin" : "body.bin";
    const std::string path = dir + "/" + file;
    std::string bytes = testing::read_file(path);
    const int kind = static_cast<int>(rng() % 4);
    std::string what;
    if (kind == 0) {  // truncate at a random offset
      size_t off = rng() % (bytes.size() + 1);
      bytes.resize(off);
      what = "truncate " + file + " at " + std::to_string(off);
    } else if (kind == 1) {  // zero from a random offset to the end (a torn page)
      size_t off = rng() % (bytes.size() + 1);
      std::fill(bytes.begin() + static_cast<long>(off), bytes.end(), '\0');
      what = "zero " + file + " from " + std::to_string(off);
    } else if (kind == 2) {  // truncate, then zero a short tail before the cut
      size_t off = rng() % (bytes.size() + 1);
      bytes.resize(off);
      size_t z = std::min<size_t>(off, rng() % 4096);
      std::fill(bytes.end() - static_cast<long>(z), bytes.end(), '\0');
      what = "truncate " + file + " at " + std::to_string(off) + " and zero " + std::to_string(z) + " before";
    } else {  // flip 1..8 random bytes anywhere (file headers included)
      int n = 1 + static_cast<int>(rng() % 8);
      what = "flip " + std::to_string(n) + " bytes of " + file;
      for (int i = 0; i < n && !bytes.empty(); ++i) bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    kinds[what.substr(0, what.find(' '))]++;
    testing::write_file(path, bytes);
    SCOPED_TRACE(what);

    for (bool ro : {true, false}) {
      std::string why;
      int bad = 0;
      std::vector<std::string> doc_errors;
      auto got = read_all(dir, ro, &why, &bad, &doc_errors);
      if (!got) {
        ++refused;
        EXPECT_TRUE(why.find("header.bin") != std::string::npos || why.find("body.bin") != std::string::npos)
            << "open error does not name the file: " << why;
        continue;
      }
      ++opened;
      docs_refused += bad;
      for (const auto& e : doc_errors)
        EXPECT_TRUE(e.find("body.bin") != std::string::npos || e.find("header.bin") != std::string::npos)
            << "document error does not name the file: " << e;
      for (const auto& [id, v] : *got) {
        ++docs_served;
        if (!ever[id].count(v)) {
          ++wrong;
          std::string known;
          for (const auto& e : ever[id])
            known += " [" + std::to_string(std::get<0>(e).size()) + " bytes" +
                     (std::get<0>(e) == std::get<0>(v) ? ", same content" : "") +
                     (std::get<1>(e) == std::get<1>(v) ? ", same tags" : "") +
                     (std::get<2>(e) == std::get<2>(v) ? ", same mime" : "") + " tags:" + std::to_string(std::get<1>(e).size()) + (std::get<1>(e).count("n") ? " n=" + docfs::tag_text(std::get<1>(e).at("n")) : "") + (std::get<1>(e).count("t") ? " t.size=" + std::to_string(docfs::tag_text(std::get<1>(e).at("t")).size()) : "") + "]";
          ADD_FAILURE() << (ro ? "read-only" : "writable") << " open served a wrong document " << id << " ("
                        << std::get<0>(v).size() << " bytes, tags " << std::get<1>(v).size() << (std::get<1>(v).count("n") ? " n=" + docfs::tag_text(std::get<1>(v).at("n")) : "") << (std::get<1>(v).count("t") ? " t.size=" + std::to_string(docfs::tag_text(std::get<1>(v).at("t")).size()) : "") << "); versions ever visible:" << known;
        }
      }
      if (kind != 3 && bad == 0) {  // a torn write: the state after some prefix of the history
        bool prefix = false;
        for (const auto& s : snaps) prefix = prefix || s == *got;
        EXPECT_TRUE(prefix) << (ro ? "read-only" : "writable")
                            << " open after a torn write is not the state after any prefix of the history ("
                            << got->size() << " documents)";
        torn_only += prefix;
      }
    }
  }
  std::printf("torn-write trials %llu (seed %llu): opens %d, refused with a clear error %d; documents served %d, "
              "refused by checksum %d, wrong %d; torn-tail opens equal to a history prefix %d\n",
              static_cast<unsigned long long>(trials), static_cast<unsigned long long>(seed), opened, refused,
              docs_served, docs_refused, wrong, torn_only);
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace docfs
