#include "widgets/number_format.h"

#include <QCoreApplication>
#include <QLocale>

#include <cmath>

#include "core/model/model_summary.h"

namespace ponet::gui {

QString formatCount(qint64 n) {
    QLocale locale;
    // The C locale omits grouping, which makes nine-digit parameter counts hard to read.
    locale.setNumberOptions(locale.numberOptions() & ~QLocale::OmitGroupSeparator);
    return locale.toString(n);
}

QString formatCompactCount(qint64 n) {
    const QLocale locale;
    const double v = static_cast<double>(n);
    const auto scaled = [&](double unit, int decimals, const char* pattern) {
        return QCoreApplication::translate("ponet::gui::NumberFormat", pattern)
            .arg(locale.toString(v / unit, 'f', decimals));
    };
    if (std::abs(v) >= 1e9) return scaled(1e9, 2, "%1 G");
    if (std::abs(v) >= 1e6) return scaled(1e6, 1, "%1 M");
    if (std::abs(v) >= 1e4) return scaled(1e3, 1, "%1 k");
    return locale.toString(n);
}

QString formatBytes(qint64 bytes) {
    return QString::fromStdString(ponet::format_bytes(bytes));
}

QString formatMeasure(double value) {
    if (value == 0.0) return QStringLiteral("0");
    if (std::isnan(value)) return QStringLiteral("NaN");
    return QString::number(value, 'g', 3);
}

}  // namespace ponet::gui
