// QCustomPlot include wrapper: qcustomplot.h uses Qt's lower-case keywords, which QT_NO_KEYWORDS removes
// (TOOLCHAIN.md §5.3). Include this, never <qcustomplot.h> directly.
#pragma once

#ifdef QT_NO_KEYWORDS
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
#else
#include <qcustomplot.h>
#endif
