#include "options.h"

#include <sstream>

namespace ponet::cli {

std::string ParsedArgs::get(const std::string& name, const std::string& fallback) const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

const std::vector<std::string>& ParsedArgs::all(const std::string& name) const {
    static const std::vector<std::string> empty;
    auto it = values.find(name);
    return it == values.end() ? empty : it->second;
}

ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& args) {
    ParsedArgs out;
    if (spec.pass_through) {
        out.positionals = args;
        return out;
    }
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.rfind("--", 0) != 0 || a == "--") {
            if (spec.positionals.empty())
                throw UsageError{"ponet " + spec.name + ": unexpected argument '" + a + "'"};
            out.positionals.push_back(a);
            continue;
        }
        std::string name = a.substr(2), value;
        bool inline_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        const OptionSpec* opt = nullptr;
        for (const auto& o : spec.options)
            if (o.name == name) opt = &o;
        if (!opt) throw UsageError{"ponet " + spec.name + ": unknown option --" + name + " (see ponet " + spec.name + " --help)"};
        if (opt->metavar.empty()) {
            if (inline_value) throw UsageError{"ponet " + spec.name + ": --" + name + " takes no value"};
            out.values[name].push_back("1");
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= args.size()) throw UsageError{"ponet " + spec.name + ": --" + name + " needs a value " + opt->metavar};
            value = args[++i];
        }
        if (!opt->repeated && out.values.count(name))
            throw UsageError{"ponet " + spec.name + ": --" + name + " given twice"};
        out.values[name].push_back(value);
    }
    for (const auto& o : spec.options) {
        if (out.values.count(o.name)) continue;
        if (o.required) throw UsageError{"ponet " + spec.name + ": --" + o.name + " " + o.metavar + " is required"};
        if (!o.default_value.empty()) out.values[o.name].push_back(o.default_value);
    }
    return out;
}

namespace {
std::string option_label(const OptionSpec& o) {
    return "--" + o.name + (o.metavar.empty() ? "" : " " + o.metavar);
}
std::string usage_line(const CommandSpec& spec) {
    std::string u = "ponet " + spec.name;
    for (const auto& o : spec.options) u += o.required ? " " + option_label(o) : " [" + option_label(o) + "]";
    if (!spec.positionals.empty()) u += " " + spec.positionals;
    return u;
}
}  // namespace

std::string command_help(const CommandSpec& spec) {
    std::ostringstream os;
    os << "usage: " << usage_line(spec) << "\n\n" << spec.summary << "\n";
    if (!spec.description.empty()) os << "\n" << spec.description << "\n";
    if (!spec.options.empty()) {
        os << "\noptions:\n";
        for (const auto& o : spec.options) {
            std::string label = "  " + option_label(o);
            if (label.size() < 28) label.resize(28, ' ');
            else label += "\n" + std::string(28, ' ');
            os << label << o.help;
            if (!o.default_value.empty()) os << " (default: " << o.default_value << ")";
            if (o.repeated) os << " (repeatable)";
            os << "\n";
        }
    }
    os << "  --help                    show this help\n";
    return os.str();
}

std::string program_help(const std::vector<CommandSpec>& commands) {
    std::ostringstream os;
    os << "usage: ponet COMMAND [OPTIONS]\n\nPoNet Studio's command line: run, check and inspect PoNet models.\n\n"
          "commands:\n";
    for (const auto& c : commands) {
        std::string name = "  " + c.name;
        name.resize(14, ' ');
        os << name << c.summary << "\n";
    }
    os << "\n  ponet COMMAND --help   options of one command\n  ponet --version        version and LibTorch build\n"
          "\nExit codes: 0 done, 1 failed, 2 bad arguments or input.\n";
    return os.str();
}

std::string man_page(const std::vector<CommandSpec>& commands, const std::string& version) {
    auto esc = [](std::string s) {
        std::string out;
        for (char ch : s) {
            if (ch == '\\') out += "\\\\";
            else if (ch == '-') out += "\\-";
            else out += ch;
        }
        return out;
    };
    std::ostringstream os;
    os << ".TH PONET 1 \"\" \"ponet " << version << "\" \"PoNet Studio\"\n"
       << ".SH NAME\nponet \\- train, check and inspect PoNet models from the command line\n"
       << ".SH SYNOPSIS\n.B ponet\n.I COMMAND\n[\\fIOPTIONS\\fR]\n.SH COMMANDS\n";
    for (const auto& c : commands) {
        os << ".SS " << esc(usage_line(c)) << "\n" << esc(c.summary) << "\n";
        if (!c.description.empty()) os << ".PP\n" << esc(c.description) << "\n";
        for (const auto& o : c.options) {
            os << ".TP\n.B " << esc(option_label(o)) << "\n" << esc(o.help);
            if (!o.default_value.empty()) os << " (default: " << esc(o.default_value) << ")";
            os << "\n";
        }
    }
    // Where files go, after the XDG base directories (core/data/xdg.h, core/util/paths.h).
    os << ".SH EXIT STATUS\n0 done, 1 failed, 2 bad arguments or input.\n"
       << ".SH ENVIRONMENT\n"
       << ".TP\n.B PONET_DATA_DIR\nUse this folder for datasets and runs instead of "
          "\\fI$XDG_DATA_HOME/ponet\\-studio\\fR (default \\fI~/.local/share/ponet\\-studio\\fR).\n"
       << ".TP\n.B PONET_RUNS_DIR\nWrite and list runs here instead of \\fI<data>/runs\\fR "
          "(\\fB\\-\\-run\\-dir\\fR and \\fB\\-\\-dir\\fR win over it).\n"
       << ".TP\n.B PONET_RESOURCES_DIR\nRead presets, built-in model shapes and golden vectors from this folder "
          "instead of \\fI<prefix>/share/ponet\\-studio\\fR.\n"
       << ".TP\n.B PONET_SPM_MODULE\nThe SentencePiece module to load instead of "
          "\\fI<prefix>/lib/.../ponet\\-studio/libponet_spm.so\\fR.\n"
       << ".TP\n.B OMP_NUM_THREADS\nCPU threads for LibTorch (default: every core).\n"
       << ".SH FILES\n"
       << ".TP\n.I $XDG_DATA_HOME/ponet\\-studio/runs/<name>/\nA training run: config.json, metrics.jsonl, log.txt, "
          "status.json, checkpoints/step\\-<N>/, best.\n"
       << ".TP\n.I $XDG_DATA_HOME/ponet\\-studio/datasets/<name>/\nA fetched dataset with its manifest.json.\n"
       << ".SH SEE ALSO\nponet\\-studio(1)\n";
    return os.str();
}

}  // namespace ponet::cli
