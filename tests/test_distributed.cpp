// Data-parallel training on the CPU through c10d Gloo on loopback, end to end through the `ponet` launcher:
// 2 workers train a tiny model to the same weights (within float tolerance) as 1 process with the same global
// batch, for fine-tuning-style (LRA) and pre-training (MLM + SSO) losses; a run resumes with another world
// size; a killed worker and a hung worker end the run with a message and a valid checkpoint. Skipped, with
// the reason, when this build's LibTorch has no c10d Gloo.
#include <torch/torch.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/train/checkpoint.h"
#include "core/train/distributed.h"
#include "core/train/run_config.h"
#include "core/train/run_directory.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace ponet;

namespace {

// A port nobody listens on right now (the kernel picks it), so parallel tests do not collide.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// Largest absolute difference between two checkpoints' weights; +inf when their tensors differ in name/shape.
double max_weight_difference(const std::string& a, const std::string& b) {
    const auto x = read_safetensors(a + "/model.safetensors").tensors;
    const auto y = read_safetensors(b + "/model.safetensors").tensors;
    if (x.size() != y.size()) return INFINITY;
    double worst = 0;
    for (const auto& [name, t] : x) {
        const auto it = y.find(name);
        if (it == y.end() || !t.sizes().equals(it->second.sizes())) return INFINITY;
        worst = std::max(worst, (t.to(torch::kDouble) - it->second.to(torch::kDouble)).abs().max().item<double>());
    }
    return worst;
}

std::vector<nlohmann::json> step_events(const std::string& run_dir) {
    std::vector<nlohmann::json> out;
    std::ifstream f(run_dir + "/metrics.jsonl");
    for (std::string line; std::getline(f, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("event", "") == "step") out.push_back(j);
    }
    return out;
}

}  // namespace

class TestDistributed : public QObject {
    Q_OBJECT

  private:
    QTemporaryDir tmp_;
    QString ponet_;
    std::string corpus_, vocab_;

    std::string dir(const std::string& sub) const { return QDir(tmp_.path()).filePath(QString::fromStdString(sub)).toStdString(); }

    QStringList lra_args(int64_t batch, int64_t steps, const std::string& run_dir, const QString& extra = {}) const {
        QStringList a{"lra", "--preset", "tiny",
                      "--set", "data.dataset=listops:train=200,dev=20,test=20,min_length=3,max_length=30,max_depth=3,seed=3",
                      "--set", "model.preset=lra-listops", "--set", "model.max_length=32", "--set", "model.dropout=0",
                      "--set", "train.batch_size=" + QString::number(batch),
                      "--set", "train.max_steps=" + QString::number(steps), "--set", "train.warmup_steps=0",
                      "--set", "train.schedule=constant", "--set", "train.eval_every=1000",
                      "--set", "train.checkpoint_every=" + QString::number(std::max<int64_t>(1, steps / 2)),
                      "--set", "train.keep_last=0", "--set", "train.log_every=1", "--set", "train.device=cpu",
                      "--run-dir", QString::fromStdString(run_dir)};
        if (!extra.isEmpty()) a << extra.split(' ');
        return a;
    }
    QStringList workers(int n, double timeout = 60) const {
        return {"--nproc-per-node", QString::number(n), "--master-port", QString::number(free_port()),
                "--dist-timeout", QString::number(timeout)};
    }

    // Runs ponet to the end (at most `limit_s`); returns the exit code, -1 when it had to be killed.
    int run(const QStringList& args, QString* err = nullptr, int limit_s = 300) {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(ponet_, args);
        if (!p.waitForStarted(30000)) return -2;
        const bool done = p.waitForFinished(limit_s * 1000);
        const QString out = QString::fromUtf8(p.readAll());
        if (err) *err = out;
        if (!done) {
            p.kill();
            p.waitForFinished(10000);
            qWarning("ponet did not finish: %s", qPrintable(out.right(2000)));
            return -1;
        }
        if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) qInfo("%s", qPrintable(out.right(3000)));
        return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    }

    std::string checkpoint(const std::string& run_dir, int64_t step) const {
        return run_dir + "/checkpoints/" + checkpoint_dir_name(step);
    }

    // Starts a long 2-worker run, waits for its first checkpoint, then does `harm` to rank 1's process; the
    // launcher must end, non-zero, within `limit_s`, rank 0 must record the failure, and the newest checkpoint
    // must stay valid.
    void failingWorker(int harm, double timeout, const char* expected_message) {
        const std::string run_dir = dir(harm == SIGKILL ? "killed" : "hung");
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(ponet_, lra_args(8, 100000, run_dir) + workers(2, timeout) +
                            QStringList{"--set", "train.checkpoint_every=3"});
        QVERIFY(p.waitForStarted(30000));
        QString out;
        int pid = 0;
        QElapsedTimer t;
        t.start();
        const QRegularExpression rank1("rank 1: pid (\\d+)");
        while (t.elapsed() < 120000 && !latest_valid_checkpoint(run_dir)) {
            p.waitForReadyRead(200);
            out += QString::fromUtf8(p.readAll());
            if (const auto m = rank1.match(out); m.hasMatch()) pid = m.captured(1).toInt();
            QVERIFY2(p.state() == QProcess::Running, qPrintable(out));
        }
        QVERIFY2(pid > 0, qPrintable(out));
        QVERIFY2(latest_valid_checkpoint(run_dir).has_value(), qPrintable(out));
        QCOMPARE(::kill(pid, harm), 0);
        // The bound is generous (CI machines are slow); without the failure handling the run would go on for
        // 100,000 steps or hang for good.
        QVERIFY2(p.waitForFinished(120000), "the run did not end after a worker failed");
        out += QString::fromUtf8(p.readAll());
        QVERIFY2(p.exitCode() != 0, qPrintable(out));
        const QString how = harm == SIGKILL ? "was killed by signal 9" : "exited with code 1";
        QVERIFY2(out.contains(how), qPrintable(out));
        const RunStatus status = RunStatus::from_json_text(
            [&] {
                std::ifstream f(run_dir + "/status.json");
                return std::string(std::istreambuf_iterator<char>(f), {});
            }(),
            "status.json");
        QCOMPARE(to_string(status.state), std::string("failed"));
        QVERIFY2(status.message.find(expected_message) != std::string::npos, status.message.c_str());
        const auto latest = latest_valid_checkpoint(run_dir);
        QVERIFY(latest.has_value());
        QVERIFY(latest->valid);
        if (harm == SIGSTOP) ::kill(pid, SIGCONT);  // in case the launcher's SIGKILL has not reached it yet
    }

  private Q_SLOTS:
    void initTestCase() {
        std::string why;
        if (!c10d_available(torch::Device(torch::kCPU), &why)) QSKIP(qPrintable(QString::fromStdString(why)));
        QVERIFY(tmp_.isValid());
        ponet_ = QFileInfo(QCoreApplication::applicationDirPath() + "/../ponet").absoluteFilePath();
        QVERIFY2(QFileInfo(ponet_).isExecutable(), qPrintable("no ponet binary at " + ponet_));
        qputenv("OMP_NUM_THREADS", "1");
        // A small corpus and a word-level vocabulary, so that pre-training needs nothing from the network.
        const std::vector<std::string> words{"the", "a", "cat", "dog", "runs", "sleeps", "over", "under",
                                             "house", "tree", "big", "small", "red", "blue"};
        std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\n";
        for (const auto& w : words) vocab += w + "\n";
        vocab_ = dir("vocab.txt");
        write_file_atomic(vocab_, vocab);
        std::mt19937 rng(7);
        std::string corpus;
        for (int d = 0; d < 24; ++d) {
            std::string text;
            for (int s = 0; s < 8; ++s) {
                const int n = 4 + static_cast<int>(rng() % 8);
                std::string sentence;
                for (int i = 0; i < n; ++i) sentence += (i ? " " : "") + words[rng() % words.size()];
                sentence[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(sentence[0])));
                text += sentence + ". ";  // capitalised, so that the sentence splitter sees sentences
            }
            corpus += nlohmann::json{{"id", "d" + std::to_string(d)}, {"text", text}, {"label", "x"}}.dump() + "\n";
        }
        corpus_ = dir("corpus.jsonl");
        write_file_atomic(corpus_, corpus);
    }

    // The must-show: 2 workers == 1 process at the same global batch. A batch of 7 splits 3 + 4 and gradient
    // accumulation makes two micro-batches per step, so the loss weighting is exercised, not just halving.
    void twoWorkersTrainLikeOneProcess() {
        const std::string one = dir("lra-1"), two = dir("lra-2");
        QCOMPARE(run(lra_args(7, 4, one, "--set train.grad_accum=2")), 0);
        QCOMPARE(run(lra_args(7, 4, two, "--set train.grad_accum=2") + workers(2)), 0);
        const double diff = max_weight_difference(checkpoint(one, 4), checkpoint(two, 4));
        qInfo("largest weight difference after 4 steps: %.3g", diff);
        QVERIFY(diff < 1e-5);
        QVERIFY(max_weight_difference(checkpoint(one, 4), checkpoint(one, 2)) > 1e-4);  // the weights moved
        // Only rank 0 wrote metrics: one line per step, with both ranks' throughput.
        const auto steps = step_events(two);
        QCOMPARE(steps.size(), size_t(4));
        for (const auto& s : steps) {
            QCOMPARE(s.value("world_size", 0), 2);
            QCOMPARE(s["rank_tokens_per_second"].size(), size_t(2));
            QVERIFY(s["rank_tokens_per_second"][1].get<double>() > 0);
        }
        const auto single = step_events(one);
        for (size_t i = 0; i < 4; ++i)
            QVERIFY(std::abs(single[i]["loss"].get<double>() - steps[i]["loss"].get<double>()) < 1e-5);
    }

    // MLM losses are means over the masked tokens of the whole batch: each rank weights its part by its share
    // of them.
    void pretrainingMatchesToo() {
        const std::string one = dir("pre-1"), two = dir("pre-2");
        const QStringList a{"pretrain", "--preset", "tiny", "--set", "data.train=" + QString::fromStdString(corpus_),
                            "--set", "data.tokenizer=" + QString::fromStdString(vocab_), "--set", "data.dupe_factor=1",
                            "--set", "model.max_length=32", "--set", "model.dropout=0", "--set", "train.batch_size=6",
                            "--set", "train.max_steps=3", "--set", "train.warmup_steps=1", "--set", "train.eval_every=1000",
                            "--set", "train.checkpoint_every=3", "--set", "train.device=cpu"};
        QCOMPARE(run(a + QStringList{"--run-dir", QString::fromStdString(one)}), 0);
        QCOMPARE(run(a + QStringList{"--run-dir", QString::fromStdString(two)} + workers(2)), 0);
        const double diff = max_weight_difference(checkpoint(one, 3), checkpoint(two, 3));
        qInfo("pre-training: largest weight difference after 3 steps: %.3g", diff);
        QVERIFY(diff < 1e-5);
    }

    // The data cursor counts global batches, so a run continues with another number of workers: 2 workers for
    // 3 steps then 1 process for 3 more, and 1 then 2, both land where 6 steps in one process do.
    void resumeWithAnotherWorldSize() {
        const std::string ref = dir("resume-ref"), a = dir("resume-2-then-1"), b = dir("resume-1-then-2");
        QCOMPARE(run(lra_args(8, 6, ref)), 0);
        QCOMPARE(run(lra_args(8, 3, a) + workers(2)), 0);
        QCOMPARE(run(lra_args(8, 3, b)), 0);
        for (const std::string& d : {a, b}) {
            RunConfig c = RunConfig::load(d + "/config.json");
            c.train.max_steps = 6;
            c.save(d + "/config.json");
        }
        QCOMPARE(run({"resume", QString::fromStdString(a)}), 0);
        QCOMPARE(run(QStringList{"resume", QString::fromStdString(b)} + workers(2)), 0);
        const double da = max_weight_difference(checkpoint(ref, 6), checkpoint(a, 6));
        const double db = max_weight_difference(checkpoint(ref, 6), checkpoint(b, 6));
        qInfo("after resume with another world size: %.3g (2 then 1), %.3g (1 then 2)", da, db);
        QVERIFY(da < 1e-5);
        QVERIFY(db < 1e-5);
    }

    // A worker that dies: the others notice at the next collective, rank 0 records why, the launcher ends.
    void killedWorkerEndsTheRun() { failingWorker(SIGKILL, 60, "rank 0 of 2"); }

    // A worker that hangs (stopped): rank 0 gives up after --dist-timeout with that in its message.
    void hungWorkerEndsTheRunAfterTheTimeout() { failingWorker(SIGSTOP, 5, "did not answer within 5 s"); }

    void malformedEnvironmentIsBadInput() {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("WORLD_SIZE", "2");
        env.insert("RANK", "5");
        p.setProcessEnvironment(env);
        p.start(ponet_, lra_args(8, 1, dir("bad-env")));
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains("RANK"));
    }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "test_distributed.moc"
