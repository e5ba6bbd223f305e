// `ponet tokenize`: look at what a tokenizer does to some text, or train a SentencePiece model.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "core/data/tokenizer_training.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/text/tokenizer.h"
#include "core/text/wordpiece.h"
#include "core/util/error.h"

namespace ponet::cli {

namespace {

int64_t parse_count(const std::string& name, const std::string& value) {
    size_t used = 0;
    int64_t v = 0;
    try {
        v = std::stoll(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || v <= 0)
        throw InvalidInput("--" + name + " must be a positive integer, not '" + value + "'");
    return v;
}

std::unique_ptr<Tokenizer> train_spm(const ParsedArgs& a) {
    if (a.has("out") == a.has("name"))
        throw InvalidInput("--train-spm needs either --out DIR (where spm.model goes) or --name NAME (kept in " +
                           tokenizers_dir() + ", where PoNet Studio lists it)");
    SentencePieceTrainOptions o;
    o.vocab_size = parse_count("vocab-size", a.get("vocab-size", "8000"));
    o.model_type = a.get("model-type", "unigram");
    o.verbose = a.has("verbose");
    if (o.model_type != "unigram" && o.model_type != "bpe")
        throw InvalidInput("--model-type must be unigram or bpe, not '" + o.model_type + "'");
    if (a.has("name")) {
        // Any corpus the importers read (a text file, a folder of documents, JSONL, CSV/TSV).
        TokenizerTrainingSpec spec;
        spec.corpus = a.get("train-spm");
        spec.spm = o;
        spec.name = a.get("name");
        const SavedTokenizer saved = train_tokenizer(spec);
        std::cerr << "trained a " << saved.model_type << " model of " << saved.vocab_size << " pieces on "
                  << saved.lines << " lines of " << saved.documents << " documents: " << saved.directory
                  << "\n(use it in a run with --set data.tokenizer=" << saved.directory << ")\n";
        return load_tokenizer(saved.directory);
    }
    auto tok = SentencePieceTokenizer::train(a.get("train-spm"), o);
    tok->save(a.get("out"));
    std::cerr << "trained a " << o.model_type << " model of " << tok->vocab_size()
              << " pieces: " << (std::filesystem::path(a.get("out")) / "spm.model").string() << "\n";
    return tok;
}

std::unique_ptr<Tokenizer> open_tokenizer(const ParsedArgs& a) {
    const int sources = a.has("vocab") + a.has("spm") + a.has("tokenizer");
    if (sources != 1) throw InvalidInput("give exactly one of --vocab FILE, --spm FILE or --tokenizer DIR");
    if (a.has("vocab")) return WordPieceTokenizer::from_file(a.get("vocab"), !a.has("cased"));
    if (a.has("spm")) return SentencePieceTokenizer::from_file(a.get("spm"));
    return load_tokenizer(a.get("tokenizer"));
}

void print_line(const Tokenizer& tok, const std::string& text, bool ids, size_t index) {
    EncodeStats stats;
    std::string line;
    if (ids) {
        for (int64_t id : tok.encode(text, &stats)) line += (line.empty() ? "" : " ") + std::to_string(id);
    } else {
        for (const auto& t : tok.tokenize(text, &stats)) line += (line.empty() ? "" : " ") + t;
    }
    std::cout << line << "\n";
    if (stats.replaced_bytes > 0)
        std::cerr << "ponet tokenize: input " << index + 1 << ": " << stats.replaced_bytes
                  << " invalid UTF-8 byte(s) replaced\n";
}

int run_tokenize(const ParsedArgs& a) {
    if (a.has("train-spm") && (a.has("vocab") || a.has("spm") || a.has("tokenizer")))
        throw InvalidInput(
            "--train-spm trains a new model; it does not combine with --vocab, --spm or --tokenizer");
    if (a.has("list-trained")) {
        for (const SavedTokenizer& t : list_saved_tokenizers())
            std::cout << t.name << "\t" << t.model_type << "\t" << t.vocab_size << "\t" << t.directory << "\n";
        return 0;
    }
    if (!a.has("train-spm"))
        for (const char* o : {"vocab-size", "model-type", "out", "name"})
            if (a.has(o)) throw InvalidInput(std::string("--") + o + " only applies to --train-spm");
    std::unique_ptr<Tokenizer> tok = a.has("train-spm") ? train_spm(a) : open_tokenizer(a);
    if (a.has("train-spm") && a.positionals.empty()) return 0;
    const bool ids = a.has("ids");
    if (!a.positionals.empty()) {
        for (size_t i = 0; i < a.positionals.size(); ++i) print_line(*tok, a.positionals[i], ids, i);
        return 0;
    }
    std::string line;
    for (size_t i = 0; std::getline(std::cin, line); ++i) print_line(*tok, line, ids, i);
    return 0;
}

}  // namespace

CommandSpec tokenize_command() {
    CommandSpec c;
    c.name = "tokenize";
    c.summary = "show the tokens (or ids) a tokenizer makes of some text, or train a SentencePiece model";
    c.positionals = "TEXT...";
    c.description =
        "Prints one line per TEXT (or per line of standard input when no TEXT is given): the tokens, or with "
        "--ids their ids, separated by spaces. Special tokens are not added. --vocab reads a BERT vocab.txt "
        "(WordPiece, the same ids as Hugging Face's BertTokenizer), --spm a SentencePiece model, --tokenizer "
        "a saved tokenizer folder (a run's tokenizer/). --train-spm trains a SentencePiece model on the "
        "lines "
        "of CORPUS with [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 and writes DIR/spm.model; with --name instead "
        "of --out, CORPUS may be any text the importers read (a file, a folder of documents, JSONL, CSV) and "
        "the model is kept under NAME in the application's tokenizers folder, where PoNet Studio's Model page "
        "lists it. --list-trained prints those (name, type, vocabulary size, folder).";
    c.options = {
        OptionSpec::value("vocab", "FILE", "WordPiece vocabulary (vocab.txt)"),
        OptionSpec::value("spm", "FILE", "SentencePiece model (spm.model)"),
        OptionSpec::value("tokenizer", "DIR",
                          "a saved tokenizer folder (tokenizer.json, spm.model or vocab.txt)"),
        OptionSpec::flag("ids", "print ids instead of tokens"),
        OptionSpec::flag("cased", "with --vocab: keep case and accents (cased BERT models)"),
        OptionSpec::value("train-spm", "CORPUS", "train a SentencePiece model on this text (file or folder)"),
        OptionSpec::value("vocab-size", "N", "with --train-spm: vocabulary size (default 8000)"),
        OptionSpec::value("model-type", "TYPE", "with --train-spm: unigram (default) or bpe"),
        OptionSpec::value("out", "DIR", "with --train-spm: folder for spm.model and tokenizer.json"),
        OptionSpec::value("name", "NAME", "with --train-spm: keep the model under NAME in the tokenizers folder"),
        OptionSpec::flag("list-trained", "list the tokenizers trained with --name (or in PoNet Studio)"),
        OptionSpec::flag("verbose", "with --train-spm: show SentencePiece's training log"),
    };
    c.run = run_tokenize;
    return c;
}

}  // namespace ponet::cli
