// Helpers shared by the widget tests: isolated settings and screenshots that prove something was drawn.
#pragma once
#include <QCoreApplication>
#include <QDir>
#include <QImage>
#include <QSet>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QWidget>

namespace ponet::gui::test {

// Settings start empty in a folder of this process's own, so a developer's settings never leak in or out and two
// runs of the same test at once (two build trees on one machine) do not clear each other's file.
inline void isolateSettings() {
    QStandardPaths::setTestModeEnabled(true);
    static QTemporaryDir folder;
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, folder.path());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, folder.path());
    QCoreApplication::setOrganizationName(QStringLiteral("PoNet Studio"));
    QSettings().clear();
}

// $PONET_SCREENSHOT_DIR if set (the docs), else the test's working directory (the build tree).
inline QString screenshotPath(const QString& fileName) {
    const QString dir = qEnvironmentVariable("PONET_SCREENSHOT_DIR", QDir::currentPath());
    QDir().mkpath(dir);
    return QDir(dir).filePath(fileName);
}

// A blank or single-colour grab means nothing was rendered; a real window has text, frames and icons.
inline int distinctColours(const QImage& image, int enough = 64) {
    QSet<QRgb> colours;
    const QImage rgb = image.convertToFormat(QImage::Format_RGB32);
    for (int y = 0; y < rgb.height() && colours.size() < enough; y += 2) {
        const auto* line = reinterpret_cast<const QRgb*>(rgb.constScanLine(y));
        for (int x = 0; x < rgb.width(); x += 2) colours.insert(line[x]);
    }
    return static_cast<int>(colours.size());
}

}  // namespace ponet::gui::test
