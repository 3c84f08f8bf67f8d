#include "runner/supervisor.h"

#include <gtest/gtest.h>

namespace sockspec::runner {
namespace {

using Words = std::vector<std::string>;

TEST(PlainCommandWords, PlainWordsAndSimpleQuotingNeedNoShell) {
  EXPECT_EQ(plain_command_words("./srv 7007"), (Words{"./srv", "7007"}));
  EXPECT_EQ(plain_command_words("'/opt/my dir/srv' serve --bind '127.0.0.1'  --port 9"),
            (Words{"/opt/my dir/srv", "serve", "--bind", "127.0.0.1", "--port", "9"}));
  EXPECT_EQ(plain_command_words("python3 -c \"print(1)\" a=b"),
            (Words{"python3", "-c", "print(1)", "a=b"}));
  EXPECT_EQ(plain_command_words("x''y \"\""), (Words{"xy", ""}));  // "" is an empty word
}

TEST(PlainCommandWords, AnythingAShellWouldInterpretGoesToTheShell) {
  for (const char* cmd : {"srv | tee log", "srv > log", "srv; other", "srv &", "echo $HOME",
                          "echo \"$HOME\"", "srv `x`", "ls *.json", "~/srv", "A=1 srv", "srv \\ x",
                          "'unterminated", "", "   ", "(srv)", "srv\nother"}) {
    EXPECT_FALSE(plain_command_words(cmd)) << cmd;
  }
}

}  // namespace
}  // namespace sockspec::runner
