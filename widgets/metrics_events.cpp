#include "widgets/metrics_events.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

namespace ponet::gui {
namespace {

double number(const QJsonObject& o, const char* key) {
    const QJsonValue v = o.value(QLatin1String(key));
    return v.isDouble() ? v.toDouble() : NAN;
}

qint64 count(const QJsonObject& o, const char* key) {
    return o.value(QLatin1String(key)).toInteger();
}

}  // namespace

MetricsEvent parseMetricsLine(const QByteArray& line) {
    MetricsEvent e;
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) return e;
    const QJsonObject o = doc.object();
    const QString event = o.value(QLatin1String("event")).toString();
    if (event == QLatin1String("step")) {
        e.kind = MetricsEvent::Kind::Step;
        ponet::StepMetrics& m = e.step;
        m.step = count(o, "step");
        m.max_steps = count(o, "max_steps");
        m.epoch = number(o, "epoch");
        m.loss = number(o, "loss");
        m.mlm_loss = number(o, "mlm_loss");
        m.mlm_accuracy = number(o, "mlm_accuracy");
        m.sso_loss = number(o, "sso_loss");
        m.sso_accuracy = number(o, "sso_accuracy");
        m.accuracy = number(o, "accuracy");
        m.learning_rate = number(o, "lr");
        m.grad_norm = number(o, "grad_norm");
        m.tokens_per_second = number(o, "tokens_per_second");
        m.examples_per_second = number(o, "examples_per_second");
        m.memory_bytes = count(o, "memory_bytes");
        m.eta_seconds = number(o, "eta_seconds");
        m.effective_batch = count(o, "effective_batch");
        m.elapsed_seconds = number(o, "elapsed_seconds");
        m.world_size = std::max(1, o.value(QLatin1String("world_size")).toInt(1));
        for (const QJsonValue& v : o.value(QLatin1String("rank_tokens_per_second")).toArray())
            m.rank_tokens_per_second.push_back(v.isDouble() ? v.toDouble() : NAN);
    } else if (event == QLatin1String("eval")) {
        e.kind = MetricsEvent::Kind::Eval;
        ponet::EvalMetrics& m = e.eval;
        m.step = count(o, "step");
        m.split = o.value(QLatin1String("split")).toString().toStdString();
        const QJsonObject values = o.value(QLatin1String("values")).toObject();
        for (auto it = values.begin(); it != values.end(); ++it)
            if (it.value().isDouble()) m.values[it.key().toStdString()] = it.value().toDouble();
        m.is_best = o.value(QLatin1String("is_best")).toBool();
    } else if (event == QLatin1String("checkpoint")) {
        e.kind = MetricsEvent::Kind::Checkpoint;
        e.checkpoint.step = count(o, "step");
        e.checkpoint.path = o.value(QLatin1String("path")).toString().toStdString();
        e.checkpoint.is_best = o.value(QLatin1String("is_best")).toBool();
    }
    return e;
}

}  // namespace ponet::gui
