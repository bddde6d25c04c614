// The mount's tree over a store with hard links: one node per file, reachable by each name.
#include "fs/inode_table.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "core/file_io.h"

namespace docfs::fs {
namespace {

class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/docfs-it-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~Scratch() { remove_tree(dir_); }
  std::string store() const { return dir_ + "/s"; }

 private:
  std::string dir_;
};

void put(Store& s, const std::string& id, const std::string& content) {
  Document d;
  d.meta.id = id;
  d.content = content;
  s.put(d);
}

Node* at(InodeTable& t, std::initializer_list<const char*> path) {
  Node* n = t.root();
  for (const char* part : path) {
    n = n ? InodeTable::child(n, part) : nullptr;
  }
  return n;
}

TEST(InodeTable, NamesOfOneFileAreOneNode) {
  Scratch tmp;
  auto s = Store::open(tmp.store(), {.create = true, .read_only = false});
  put(*s, "a", "A");
  s->link("a", "dir/b");
  s->link("a", "dir/sub/c");
  put(*s, "plain", "P");
  InodeTable t(s.get());
  Node* a = at(t, {"a"});
  ASSERT_TRUE(a);
  EXPECT_EQ(at(t, {"dir", "b"}), a);
  EXPECT_EQ(at(t, {"dir", "sub", "c"}), a);
  EXPECT_EQ(InodeTable::name_count(a), 3u);
  EXPECT_NE(at(t, {"plain"}), a);

  // Taking names away: the node stays until its last one goes; id_of names a live name.
  a->nlookup = 1;  // as if the kernel knew it: kept (marked removed) after its last name
  Node* dir = at(t, {"dir"});
  t.remove_name(a, t.root(), "a");
  EXPECT_EQ(at(t, {"a"}), nullptr);
  EXPECT_FALSE(a->removed);
  EXPECT_EQ(InodeTable::name_count(a), 2u);
  EXPECT_NE(InodeTable::id_of(a), "a");
  t.move_name(a, dir, "b", t.root(), "moved");
  EXPECT_EQ(at(t, {"moved"}), a);
  EXPECT_EQ(at(t, {"dir", "b"}), nullptr);
  t.remove_name(a, t.root(), "moved");
  t.remove_name(a, at(t, {"dir", "sub"}), "c");
  EXPECT_TRUE(a->removed);
  EXPECT_EQ(InodeTable::id_in(dir, "x"), "dir/x");
}

// "a" is a file with a second name "x", and "a/b" makes "a" a directory too: the
// directory wins, and "x" stays the file, whichever order the names load in.
class HiddenFirstName : public ::testing::TestWithParam<bool> {};

TEST_P(HiddenFirstName, KeepsTheOtherNamesAFile) {
  Scratch tmp;
  auto s = Store::open(tmp.store(), {.create = true, .read_only = false});
  put(*s, "a", "A");
  if (GetParam()) {
    s->link("a", "x");
    put(*s, "a/b", "B");
  } else {
    put(*s, "a/b", "B");
    s->link("a", "x");
  }
  InodeTable t(s.get());
  Node* a = at(t, {"a"});
  Node* x = at(t, {"x"});
  ASSERT_TRUE(a && x);
  EXPECT_TRUE(a->is_dir);
  EXPECT_FALSE(x->is_dir);
  EXPECT_TRUE(at(t, {"a", "b"}));
}

INSTANTIATE_TEST_SUITE_P(LinkFirst, HiddenFirstName, ::testing::Bool());

}  // namespace
}  // namespace docfs::fs
