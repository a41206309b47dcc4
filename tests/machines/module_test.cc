// `treatyc build` produces a loadable module; the registry loads it and the
// machine inside behaves like the one compiled into this binary.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "definitions/runtime/registry.h"
#include "machine_fixtures.h"

namespace treaty::testing {
namespace {

namespace fs = std::filesystem;

class Module : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("treaty-module-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(Module, BuiltModuleLoadsAndRuns) {
  fs::path so = dir_ / "purchase-order.so";
  std::string cmd = std::string(TREATY_TREATYC) + " build " + TREATY_SOURCE_DIR +
                    "/examples/purchase-order/purchase-order.yaml -o " + so.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  runtime::Registry registry;
  Status st = registry.LoadDirectory(dir_.string());
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto def = registry.Find("purchase-order", 1);
  ASSERT_NE(def, nullptr);
  EXPECT_STREQ(def->kind(), "msm");
  auto linked = Compiled("purchase-order");
  ASSERT_NE(linked, nullptr);
  EXPECT_EQ(def->hash(), linked->hash());

  auto m = def->NewMachine(0);
  Call c;
  c.step = "submit";
  c.roles = {"buyer"};
  c.input = Json(R"({"po_number":"P","total":3,"items":[{"sku":"x","qty":1}]})");
  auto r = m->Apply(c.Get());
  ASSERT_TRUE(r.accepted()) << r.reason;
  auto twin = linked->NewMachine(0);
  ASSERT_TRUE(twin->Apply(c.Get()).accepted());
  EXPECT_EQ(m->StateHash(), twin->StateHash());

  // Loading the identical definition again is harmless.
  EXPECT_TRUE(registry.LoadModule(so.string()).ok());
}

TEST_F(Module, RefusesFilesThatAreNotModules) {
  fs::path bogus = dir_ / "bogus.so";
  std::ofstream(bogus) << "not an ELF file";
  runtime::Registry registry;
  Status st = registry.LoadModule(bogus.string());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("cannot load definition module"), std::string::npos) << st.message();
}

TEST_F(Module, BuildOfAnInvalidDefinitionFailsWithDiagnostics) {
  fs::path yaml = dir_ / "bad.yaml";
  std::ofstream(yaml) << "process: bad\nversion: 1\nroles: [a]\nstates:\n  s: {}\nsteps: {}\n";
  std::string cmd = std::string(TREATY_TREATYC) + " build " + yaml.string() + " -o " + (dir_ / "bad.so").string() +
                    " 2>" + (dir_ / "err.txt").string();
  EXPECT_NE(std::system(cmd.c_str()), 0);
  std::ifstream err(dir_ / "err.txt");
  std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(yaml.string() + ":"), std::string::npos) << text;
  EXPECT_NE(text.find(": error: "), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(dir_ / "bad.so"));
}

}  // namespace
}  // namespace treaty::testing
