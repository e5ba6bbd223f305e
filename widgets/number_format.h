// How counts and sizes read in the views: full digits with the locale's grouping, plus a compact form.
#pragma once
#include <QString>

namespace ponet::gui {

QString formatCount(qint64 n);         // "124,281,405" (grouping follows the locale)
QString formatCompactCount(qint64 n);  // "124.3 M", "5.2 k", "812"
QString formatBytes(qint64 bytes);     // the core's units, so GUI and CLI agree
QString formatMeasure(double value);   // errors and tolerances: "3.2e-06", "0"

}  // namespace ponet::gui
