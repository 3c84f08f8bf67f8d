// The UDP ledger's definitions of lost, late, duplicate and reordered, one case each, plus the
// worked example of docs/load.md.
#include "load/udp_ledger.h"

#include <gtest/gtest.h>

namespace sockspec::load {
namespace {

using R = UdpLedger::Reply;

UdpLedger sent(int n) {
  UdpLedger l;
  l.count_from_next();
  for (int i = 0; i < n; ++i) l.sent();
  return l;
}

TEST(UdpLedger, ReplyInOrderIsOnTime) {
  UdpLedger l = sent(2);
  EXPECT_EQ(l.reply(0), R::on_time);
  EXPECT_EQ(l.reply(1), R::on_time);
  EXPECT_EQ(l.counts().sent, 2u);
  EXPECT_EQ(l.counts().reordered, 0u);
}

TEST(UdpLedger, ReplyAfterALaterDatagramsReplyIsReordered) {
  UdpLedger l = sent(3);
  EXPECT_EQ(l.reply(1), R::on_time);
  EXPECT_EQ(l.reply(0), R::reordered);
  EXPECT_EQ(l.reply(2), R::on_time);
  EXPECT_EQ(l.counts().reordered, 1u);
}

TEST(UdpLedger, SecondReplyIsADuplicateEvenLongAfter) {
  UdpLedger l = sent(100);
  EXPECT_EQ(l.reply(0), R::on_time);
  for (uint64_t t = 1; t < 100; ++t) l.reply(t);
  EXPECT_EQ(l.reply(0), R::duplicate);  // tag 0 is below the window by now
  EXPECT_EQ(l.reply(99), R::duplicate);
  EXPECT_EQ(l.counts().duplicates, 2u);
}

TEST(UdpLedger, ExpiredIsLostAndItsReplyLateThenDuplicate) {
  UdpLedger l = sent(3);
  l.expired(0);
  EXPECT_EQ(l.reply(1), R::on_time);
  EXPECT_EQ(l.reply(0), R::late);
  EXPECT_EQ(l.reply(0), R::duplicate);
  l.expired(2);
  l.expired(2);  // once only
  EXPECT_EQ(l.counts().lost, 2u);
  EXPECT_EQ(l.counts().late, 1u);
  EXPECT_EQ(l.counts().duplicates, 1u);
  EXPECT_LE(l.counts().lost, l.counts().sent);
}

TEST(UdpLedger, ATagNeverSentIsUnknownAndCountsNothing) {
  UdpLedger l = sent(1);
  EXPECT_EQ(l.reply(5), R::unknown);
  EXPECT_EQ(l.counts().duplicates + l.counts().late + l.counts().reordered, 0u);
}

TEST(UdpLedger, ADatagramThatCouldNotBeSentIsNeitherSentNorLost) {
  UdpLedger l;
  l.count_from_next();
  l.sent();  // tag 0: queued, then the send failed
  l.sent();  // tag 1
  l.unsent(0);
  EXPECT_EQ(l.counts().sent, 1u);
  EXPECT_EQ(l.reply(1), R::on_time);  // not reordered: nothing was answered before it
  l.expired(0);                       // settled already: no loss
  EXPECT_EQ(l.counts().lost, 0u);
  EXPECT_EQ(l.counts().late + l.counts().reordered + l.counts().duplicates, 0u);
}

TEST(UdpLedger, WarmUpDatagramsAndTheirRepliesAreNotCounted) {
  UdpLedger l;
  l.sent();  // warm-up: tag 0
  l.expired(0);
  l.count_from_next();
  l.sent();  // measured: tag 1
  EXPECT_EQ(l.reply(0), R::late);
  EXPECT_EQ(l.reply(1), R::on_time);
  EXPECT_EQ(l.reply(1), R::duplicate);
  EXPECT_EQ(l.counts().sent, 1u);
  EXPECT_EQ(l.counts().lost, 0u);
  EXPECT_EQ(l.counts().late, 0u);
  EXPECT_EQ(l.counts().duplicates, 1u);
}

// docs/load.md: six datagrams; the server drops 2, answers 3 twice, holds 4 until after 5's
// reply, and answers 1 after its timeout.
TEST(UdpLedger, TheWorkedExampleOfTheDocs) {
  UdpLedger l = sent(6);
  EXPECT_EQ(l.reply(0), R::on_time);
  EXPECT_EQ(l.reply(3), R::on_time);
  EXPECT_EQ(l.reply(3), R::duplicate);
  EXPECT_EQ(l.reply(5), R::on_time);
  EXPECT_EQ(l.reply(4), R::reordered);
  l.expired(1);
  l.expired(2);
  EXPECT_EQ(l.reply(1), R::late);
  const UdpCounts& c = l.counts();
  EXPECT_EQ(c.sent, 6u);
  EXPECT_EQ(c.lost, 2u);
  EXPECT_EQ(c.late, 1u);
  EXPECT_EQ(c.duplicates, 1u);
  EXPECT_EQ(c.reordered, 1u);
}

}  // namespace
}  // namespace sockspec::load
