// engine/media: images and videos made here by the ffmpeg CLI (QSKIP without it) decode to
// the pixels drawn (within a stated tolerance for lossy codecs), sampled video frames are
// the frames shown at their times (each frame's colour encodes its number), rotation
// metadata and EXIF orientation are honoured, caps and broken files (truncated at several
// lengths, corrupt, empty, text named .png, a directory, a missing file) give one clear
// es::Error naming the file, and `expertscope-cli media-info` keeps the CLI contract.
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "expertscope/error.h"
#include "expertscope/media.h"

namespace md = es::media;

namespace {

std::vector<uint8_t> read_bytes(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  const QByteArray b = f.readAll();
  return {b.begin(), b.end()};
}

void write_bytes(const QString& path, const std::vector<uint8_t>& bytes) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<qint64>(bytes.size()));
}

/// |a - b| of each channel of a pixel against an expected colour.
int max_diff(const md::Frame& f, int x, int y, int r, int g, int b) {
  const uint8_t* p = f.pixel(x, y);
  return std::max({std::abs(p[0] - r), std::abs(p[1] - g), std::abs(p[2] - b)});
}

/// The frame number a frame of the counting clip shows: red = (n % 40) * 6,
/// blue = (n / 40) * 30 (see counting_clip).
int frame_number(const md::Frame& f) {
  const uint8_t* p = f.pixel(f.width / 2, f.height / 2);
  return static_cast<int>(std::lround(p[2] / 30.0)) * 40 +
         static_cast<int>(std::lround(p[0] / 6.0));
}

/// What an es::Error thrown by `fn` says ("" and a failed check if nothing was thrown).
template <typename Fn>
QString error_of(Fn fn, es::ErrorKind* kind = nullptr) {
  try {
    fn();
  } catch (const es::Error& e) {
    if (kind != nullptr) *kind = e.kind();
    return QString::fromStdString(e.what());
  }
  return {};
}

}  // namespace

class TestMedia : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void sample_times_policy();
  void images_data();
  void images();
  void image_from_memory_matches_file();
  void videos_data();
  void videos();
  void seeking_long_clip();
  void rotation_data();
  void rotation();
  void exif_orientation();
  void transparency_over_white();
  void caps();
  void truncated_data();
  void truncated();
  void corrupt_bytes();
  void bad_files_data();
  void bad_files();
  void probe_kinds();
  void resize_helpers();
  void patch_fit();
  void cli_media_info();
  void cli_errors_data();
  void cli_errors();

 private:
  /// Runs ffmpeg with `args` (after -v error -y) making `out` in the temporary folder.
  QString make(const QString& out, const QStringList& args);
  /// A clip of `seconds` at 10 fps where frame n is a solid colour encoding n.
  QString counting_clip(const QString& out, double seconds, const QStringList& codec);

  QTemporaryDir dir_;
  QString ffmpeg_;
};

void TestMedia::initTestCase() {
  QVERIFY(dir_.isValid());
  ffmpeg_ = QStandardPaths::findExecutable("ffmpeg");
  if (ffmpeg_.isEmpty()) {
    QSKIP("the ffmpeg CLI is not installed (Debian package ffmpeg): no media to test with");
  }
}

QString TestMedia::make(const QString& out, const QStringList& args) {
  const QString path = dir_.filePath(out);
  QProcess p;
  p.start(ffmpeg_, QStringList{"-nostdin", "-v", "error", "-y"} + args + QStringList{path});
  if (!p.waitForStarted(-1) || !p.waitForFinished(-1) || p.exitCode() != 0) {
    qWarning("ffmpeg failed for %s: %s", qPrintable(out), p.readAllStandardError().constData());
    return {};
  }
  return path;
}

QString TestMedia::counting_clip(const QString& out, double seconds, const QStringList& codec) {
  const QString src = QString(
                          "color=c=black:size=64x48:rate=10:duration=%1,"
                          "geq=r='mod(N\\,40)*6':g='128':b='floor(N/40)*30'")
                          .arg(seconds);
  return make(out, QStringList{"-f", "lavfi", "-i", src} + codec);
}

void TestMedia::sample_times_policy() {
  using V = std::vector<double>;
  QCOMPARE(md::sample_times(4.0, {1.0, 32}), (V{0, 1, 2, 3}));
  QCOMPARE(md::sample_times(4.5, {1.0, 32}), (V{0, 1, 2, 3, 4}));
  QCOMPARE(md::sample_times(0.2, {1.0, 32}), (V{0}));
  QCOMPARE(md::sample_times(0, {1.0, 32}), (V{0}));
  QCOMPARE(md::sample_times(4.0, {2.0, 4}), (V{0, 1, 2, 3}));  // uniform: 8 > 4
  QCOMPARE(md::sample_times(100.0, {1.0, 4}), (V{0, 25, 50, 75}));
  QCOMPARE(md::sample_times(3.0, {0.5, 32}), (V{0, 2}));
  QCOMPARE(static_cast<int>(md::sample_times(3600.0, {1.0, 32}).size()), 32);
  es::ErrorKind kind{};
  QVERIFY(!error_of([] { (void)md::sample_times(4.0, {0.0, 32}); }, &kind).isEmpty());
  QCOMPARE(kind, es::ErrorKind::usage);
  QVERIFY(!error_of([] { (void)md::sample_times(4.0, {1.0, 0}); }).isEmpty());
}

// A 64x48 red picture with a 16x12 blue box at the top left and a green one at the
// bottom right, in every still format; lossy formats within `tolerance`.
void TestMedia::images_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<QStringList>("codec");
  QTest::addColumn<int>("tolerance");
  QTest::addColumn<QString>("decoder");
  // Lossless formats: within 3 (lavfi draws the picture in YUV; red comes out 253).
  QTest::newRow("png") << "pic.png" << QStringList{"-pix_fmt", "rgb24"} << 3 << "png";
  QTest::newRow("png-rgba") << "pic_rgba.png" << QStringList{"-pix_fmt", "rgba"} << 3 << "png";
  QTest::newRow("jpeg") << "pic.jpg" << QStringList{"-q:v", "2"} << 40 << "mjpeg";
  QTest::newRow("webp") << "pic.webp" << QStringList{"-c:v", "libwebp", "-quality", "95"} << 40
                        << "webp";
  QTest::newRow("webp-lossless") << "pic_ll.webp"
                                 << QStringList{"-c:v", "libwebp", "-lossless", "1"} << 3 << "webp";
  QTest::newRow("bmp") << "pic.bmp" << QStringList{} << 3 << "bmp";
  QTest::newRow("tiff") << "pic.tiff" << QStringList{"-pix_fmt", "rgb24"} << 3 << "tiff";
  // GIF: ffmpeg's encoder maps to a fixed 3-3-2 palette (blue 255 → 170).
  QTest::newRow("gif") << "pic.gif" << QStringList{} << 90 << "gif";
}

void TestMedia::images() {
  QFETCH(QString, file);
  QFETCH(QStringList, codec);
  QFETCH(int, tolerance);
  QFETCH(QString, decoder);
  const QString path =
      make(file, QStringList{"-f", "lavfi", "-i",
                             "color=c=red:size=64x48,drawbox=x=0:y=0:w=16:h=12:color=blue:t=fill,"
                             "drawbox=x=48:y=36:w=16:h=12:color=lime:t=fill",
                             "-frames:v", "1"} +
                     codec);
  QVERIFY(!path.isEmpty());
  const md::Decoded d = md::decode(path.toStdString());
  QCOMPARE(d.kind, md::Kind::image);
  QCOMPARE(d.frames.size(), size_t{1});
  const md::Frame& f = d.frames.front();
  QCOMPARE(f.width, 64);
  QCOMPARE(f.height, 48);
  QCOMPARE(f.stride_bytes, 64 * 3);
  QCOMPARE(f.rgb.size(), size_t{64 * 48 * 3});
  QCOMPARE(f.time_s, 0.0);
  // Away from the edges of the boxes (lossy codecs blur them).
  auto at = [&f](int x, int y) {
    const uint8_t* p = f.pixel(x, y);
    return QString("(%1, %2): %3 %4 %5").arg(x).arg(y).arg(p[0]).arg(p[1]).arg(p[2]);
  };
  QVERIFY2(max_diff(f, 4, 4, 0, 0, 255) <= tolerance, qPrintable(at(4, 4)));
  QVERIFY2(max_diff(f, 32, 24, 255, 0, 0) <= tolerance, qPrintable(at(32, 24)));
  QVERIFY2(max_diff(f, 58, 42, 0, 255, 0) <= tolerance, qPrintable(at(58, 42)));
  QVERIFY2(max_diff(f, 58, 4, 255, 0, 0) <= tolerance, qPrintable(at(58, 4)));
  md::Source s = md::Source::open(path.toStdString());
  QCOMPARE(s.codec(), decoder.toStdString());
  QCOMPARE(s.kind(), md::Kind::image);
  QCOMPARE(s.poster().rgb, f.rgb);
  const md::ProbeResult p = md::probe(path.toStdString());
  QCOMPARE(p.kind, md::Kind::image);
  QCOMPARE(p.width, 64);
  QCOMPARE(p.height, 48);
  QCOMPARE(p.frames_sampled, 1);
}

void TestMedia::image_from_memory_matches_file() {
  const QString path =
      make("mem.png", {"-f", "lavfi", "-i", "testsrc=size=80x60", "-frames:v", "1"});
  QVERIFY(!path.isEmpty());
  const std::vector<uint8_t> bytes = read_bytes(path);
  const md::Decoded a = md::decode(path.toStdString());
  const md::Decoded b = md::decode_memory(bytes, "attachment.png");
  QCOMPARE(b.frames.size(), size_t{1});
  QCOMPARE(b.frames[0].rgb, a.frames[0].rgb);
  const md::ProbeResult p = md::probe_memory(bytes, "attachment.png");
  QCOMPARE(p.kind, md::Kind::image);
  QCOMPARE(p.width, 80);
}

// The 4-second counting clip in each container and codec.
void TestMedia::videos_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<QStringList>("codec");
  const QStringList x264{"-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "10"};
  QTest::newRow("mp4-h264") << "clip.mp4" << (x264 + QStringList{"-movflags", "+faststart"});
  QTest::newRow("mp4-h264-no-bframes") << "clip_nob.mp4" << (x264 + QStringList{"-bf", "0"});
  QTest::newRow("mov-h264") << "clip.mov" << x264;
  QTest::newRow("mkv-h264") << "clip.mkv" << x264;
  QTest::newRow("webm-vp8") << "clip_vp8.webm"
                            << QStringList{"-c:v", "libvpx", "-b:v", "1M", "-crf", "4"};
  QTest::newRow("webm-vp9") << "clip_vp9.webm"
                            << QStringList{"-c:v", "libvpx-vp9", "-crf", "10", "-b:v", "0"};
  QTest::newRow("mp4-mpeg4") << "clip_mpeg4.mp4" << QStringList{"-c:v", "mpeg4", "-q:v", "2"};
  QTest::newRow("avi-mjpeg") << "clip.avi" << QStringList{"-c:v", "mjpeg", "-q:v", "2"};
}

void TestMedia::videos() {
  QFETCH(QString, file);
  QFETCH(QStringList, codec);
  const QString path = counting_clip(file, 4.0, codec);
  QVERIFY(!path.isEmpty());
  md::Source s = md::Source::open(path.toStdString());
  QCOMPARE(s.kind(), md::Kind::video);
  QCOMPARE(s.width(), 64);
  QCOMPARE(s.height(), 48);
  QVERIFY2(std::abs(s.duration_s() - 4.0) < 0.01, qPrintable(QString::number(s.duration_s())));

  // The default policy: 1 fps → 0, 1, 2, 3 s → frames 0, 10, 20, 30.
  std::vector<md::Frame> frames = s.sample();
  QCOMPARE(frames.size(), size_t{4});
  for (int i = 0; i < 4; ++i) {
    QCOMPARE(frame_number(frames[i]), i * 10);
    QVERIFY(std::abs(frames[i].time_s - i) < 1e-6);
    QCOMPARE(frames[i].width, 64);
  }
  // Every frame at 10 fps.
  frames = s.sample({10.0, 64});
  QCOMPARE(frames.size(), size_t{40});
  for (int i = 0; i < 40; ++i) {
    QCOMPARE(frame_number(frames[i]), i);
    QVERIFY(std::abs(frames[i].time_s - i / 10.0) < 1e-6);
  }
  // Uniform when the target rate would give more than max_frames: 0, 0.5 ... 3.5 s.
  frames = s.sample({30.0, 8});
  QCOMPARE(frames.size(), size_t{8});
  for (int i = 0; i < 8; ++i) QCOMPARE(frame_number(frames[i]), i * 5);
  // 2.5 fps: 0, 0.4, 0.8 ... 3.6 s (times between frames take the frame shown then).
  frames = s.sample({2.5, 32});
  QCOMPARE(frames.size(), size_t{10});
  for (int i = 0; i < 10; ++i) QCOMPARE(frame_number(frames[i]), i * 4);
  // The frame shown at 1.25 s is frame 12 (1.2 s); past the end, the last one.
  md::Frame f = s.frame_at(1.25);
  QCOMPARE(frame_number(f), 12);
  QVERIFY(std::abs(f.time_s - 1.2) < 1e-6);
  QCOMPARE(frame_number(s.frame_at(99.0)), 39);
  QCOMPARE(frame_number(s.frame_at(0.0)), 0);
  QCOMPARE(frame_number(s.poster()), 4);  // 10 % of 4 s
  QCOMPARE(frame_number(s.first_frame()), 0);
  // From memory: the same frames.
  const std::vector<uint8_t> bytes = read_bytes(path);
  const md::Decoded d = md::decode_memory(bytes, file.toStdString());
  QCOMPARE(d.kind, md::Kind::video);
  QCOMPARE(d.frames.size(), size_t{4});
  QCOMPARE(frame_number(d.frames[3]), 30);
  const md::ProbeResult p = md::probe(path.toStdString());
  QCOMPARE(p.kind, md::Kind::video);
  QCOMPARE(p.frames_sampled, 4);
  QCOMPARE(p.width, 64);
}

// A 30-second clip with a key frame every 10 frames and B-frames: the seeking path gives
// the frames a straight decode gives.
void TestMedia::seeking_long_clip() {
  const QString path = counting_clip(
      "long.mp4", 30.0,
      {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "10", "-g", "10", "-bf", "3"});
  QVERIFY(!path.isEmpty());
  md::Source s = md::Source::open(path.toStdString());
  QVERIFY(std::abs(s.duration_s() - 30.0) < 0.01);
  const std::vector<md::Frame> sparse = s.sample({0.4, 32});  // 0, 2.5, 5 ... 27.5 s
  QCOMPARE(sparse.size(), size_t{12});
  for (size_t i = 0; i < sparse.size(); ++i) {
    QCOMPARE(frame_number(sparse[i]), static_cast<int>(i) * 25);
    QVERIFY(std::abs(sparse[i].time_s - static_cast<double>(i) * 2.5) < 1e-6);
  }
  const std::vector<md::Frame> uniform = s.sample({1.0, 7});  // 30 / 7 s apart
  QCOMPARE(uniform.size(), size_t{7});
  for (size_t i = 0; i < uniform.size(); ++i) {
    const int expected =
        static_cast<int>(std::floor(30.0 * static_cast<double>(i) / 7 * 10 + 1e-9));
    QCOMPARE(frame_number(uniform[i]), expected);
  }
  // Going back in time after a later frame: starts over, still right.
  QCOMPARE(frame_number(s.frame_at(25.0)), 250);
  QCOMPARE(frame_number(s.frame_at(3.05)), 30);
}

void TestMedia::rotation_data() {
  QTest::addColumn<int>("rotate");  // the legacy `rotate` tag ffmpeg 5.1 writes
  QTest::newRow("90") << 90;
  QTest::newRow("180") << 180;
  QTest::newRow("270") << 270;
}

// A 64x32 blue clip with a red box at the top left, tagged with rotation metadata (a
// display matrix): the frames come upright as FFmpeg's own player shows them.
void TestMedia::rotation() {
  QFETCH(int, rotate);
  const QString plain = make(
      "upright.mp4", {"-f", "lavfi", "-i",
                      "color=c=blue:size=64x32:rate=10,drawbox=x=0:y=0:w=16:h=8:color=red:t=fill",
                      "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv444p"});
  QVERIFY(!plain.isEmpty());
  const QString tagged =
      make(QString("rot%1.mp4").arg(rotate),
           {"-i", plain, "-c", "copy", "-metadata:s:v:0", QString("rotate=%1").arg(rotate)});
  QVERIFY(!tagged.isEmpty());
  // What the ffmpeg CLI (autorotate) shows.
  const QString raw = make(QString("rot%1.rgb").arg(rotate),
                           {"-i", tagged, "-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo"});
  QVERIFY(!raw.isEmpty());
  const std::vector<uint8_t> expected = read_bytes(raw);
  md::Source s = md::Source::open(tagged.toStdString());
  const bool quarter = rotate != 180;
  QCOMPARE(s.width(), quarter ? 32 : 64);
  QCOMPARE(s.height(), quarter ? 64 : 32);
  QCOMPARE(s.rotation_deg() % 90, 0);
  QVERIFY(s.rotation_deg() != 0);
  const md::Frame f = s.first_frame();
  QCOMPARE(f.rgb.size(), expected.size());
  int worst = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    worst = std::max(worst, std::abs(int{f.rgb[i]} - int{expected[i]}));
  }
  QVERIFY2(worst <= 12, qPrintable(QString("max difference %1").arg(worst)));
  const md::ProbeResult p = md::probe(tagged.toStdString());
  QCOMPARE(p.width, s.width());
  QCOMPARE(p.rotation_deg, s.rotation_deg());
}

// A JPEG with an EXIF APP1 segment, Orientation 6 (rotate 90° clockwise to show).
void TestMedia::exif_orientation() {
  const QString path =
      make("exif_src.jpg", {"-f", "lavfi", "-i",
                            "color=c=blue:size=64x32,drawbox=x=0:y=0:w=16:h=8:color=red:t=fill",
                            "-frames:v", "1", "-q:v", "2"});
  QVERIFY(!path.isEmpty());
  std::vector<uint8_t> jpeg = read_bytes(path);
  QVERIFY(jpeg.size() > 4 && jpeg[0] == 0xFF && jpeg[1] == 0xD8);
  // APP1: "Exif\0\0", little-endian TIFF header, one IFD entry 0x0112 SHORT 1 = 6.
  const std::vector<uint8_t> app1 = {0xFF, 0xE1, 0x00, 0x22, 'E',  'x',  'i',  'f',  0,
                                     0,    'I',  'I',  0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,
                                     0x01, 0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00,
                                     0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  const QString rotated = dir_.filePath("exif6.jpg");
  write_bytes(rotated, jpeg);
  const md::Decoded d = md::decode(rotated.toStdString());
  const md::Frame& f = d.frames.front();
  QCOMPARE(f.width, 32);
  QCOMPARE(f.height, 64);
  // The red box (top left) is now at the top right.
  QVERIFY(max_diff(f, 28, 4, 255, 0, 0) <= 40);
  QVERIFY(max_diff(f, 4, 4, 0, 0, 255) <= 40);
  QVERIFY(max_diff(f, 4, 60, 0, 0, 255) <= 40);
}

void TestMedia::transparency_over_white() {
  const QString path =
      make("clear.png", {"-f", "lavfi", "-i", "color=c=black@0.0:size=8x8,format=rgba", "-frames:v",
                         "1", "-pix_fmt", "rgba"});
  QVERIFY(!path.isEmpty());
  const md::Frame f = md::decode(path.toStdString()).frames.front();
  QCOMPARE(max_diff(f, 3, 3, 255, 255, 255), 0);
}

void TestMedia::caps() {
  const QString pic =
      make("big.png", {"-f", "lavfi", "-i", "testsrc=size=400x300", "-frames:v", "1"});
  const QString clip = counting_clip("caps.mp4", 4.0, {"-c:v", "libx264", "-pix_fmt", "yuv420p"});
  QVERIFY(!pic.isEmpty() && !clip.isEmpty());
  es::ErrorKind kind{};
  md::Limits small;
  small.max_pixels = 100'000;
  QString msg = error_of([&] { (void)md::decode(pic.toStdString(), {}, small); }, &kind);
  QVERIFY2(msg.contains("big.png: 400x300 is more than the 0.1-megapixel limit"), qPrintable(msg));
  QCOMPARE(kind, es::ErrorKind::bad_input);
  msg = error_of([&] { (void)md::probe(pic.toStdString(), small); });
  QVERIFY2(msg.contains("megapixel limit"), qPrintable(msg));

  md::Limits short_clips;
  short_clips.max_duration_s = 2.0;
  msg = error_of([&] { (void)md::Source::open(clip.toStdString(), short_clips); });
  QVERIFY2(msg.contains("caps.mp4") && msg.contains("2.00 s limit"), qPrintable(msg));

  md::Limits tiny_files;
  tiny_files.max_file_bytes = 1000;
  msg = error_of([&] { (void)md::Source::open(clip.toStdString(), tiny_files); });
  QVERIFY2(msg.contains("caps.mp4") && msg.contains("1000 bytes file limit"), qPrintable(msg));
  const std::vector<uint8_t> bytes = read_bytes(clip);
  msg = error_of([&] { (void)md::decode_memory(bytes, "blob.mp4", {}, tiny_files); });
  QVERIFY2(msg.contains("blob.mp4") && msg.contains("file limit"), qPrintable(msg));

  md::Limits few_frames;
  few_frames.max_frames = 8;
  md::Source s = md::Source::open(clip.toStdString(), few_frames);
  msg = error_of([&] { (void)s.sample({1.0, 16}); });
  QVERIFY2(msg.contains("8-frame limit"), qPrintable(msg));
  QCOMPARE(s.sample({1.0, 8}).size(), size_t{4});  // within the cap
}

void TestMedia::truncated_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<QStringList>("args");
  const QStringList pic{"-f", "lavfi", "-i", "testsrc=size=128x96", "-frames:v", "1"};
  const QString count = "color=c=black:size=64x48:rate=10:duration=4,geq=r='N*6':g='128':b='0'";
  const QStringList clip{"-f", "lavfi", "-i", count};
  QTest::newRow("png") << "cut.png" << pic;
  QTest::newRow("jpeg") << "cut.jpg" << pic;
  QTest::newRow("webp") << "cut.webp" << (pic + QStringList{"-c:v", "libwebp"});
  QTest::newRow("bmp") << "cut.bmp" << pic;
  QTest::newRow("tiff") << "cut.tiff" << pic;
  QTest::newRow("gif") << "cut.gif" << pic;
  QTest::newRow("mp4-faststart") << "cut_fast.mp4"
                                 << (clip +
                                     QStringList{"-c:v", "libx264", "-movflags", "+faststart"});
  QTest::newRow("mp4") << "cut.mp4" << (clip + QStringList{"-c:v", "libx264"});
  QTest::newRow("mkv") << "cut.mkv" << (clip + QStringList{"-c:v", "libx264"});
  QTest::newRow("webm") << "cut.webm" << (clip + QStringList{"-c:v", "libvpx-vp9"});
}

// Each file cut at several lengths: a clear error naming it, never a crash, never a
// partial picture. A video cut only in its trailing index (Matroska's cues and tags) or
// within the container's tolerance may still decode: then every frame is the one its
// timestamp says, from a duration that ends where the data ends.
void TestMedia::truncated() {
  QFETCH(QString, file);
  QFETCH(QStringList, args);
  const QString path = make(file, args);
  QVERIFY(!path.isEmpty());
  const std::vector<uint8_t> whole = read_bytes(path);
  QVERIFY(whole.size() > 200);
  const bool video = md::probe(path.toStdString()).kind == md::Kind::video;
  const std::vector<size_t> lengths = {1,
                                       16,
                                       whole.size() / 10,
                                       whole.size() * 3 / 10,
                                       whole.size() / 2,
                                       whole.size() * 7 / 10,
                                       whole.size() * 9 / 10,
                                       whole.size() - 100};
  int errors = 0;
  for (const size_t n : lengths) {
    const std::vector<uint8_t> cut(whole.begin(), whole.begin() + static_cast<ptrdiff_t>(n));
    const std::string name = "cut-" + std::to_string(n) + "-" + file.toStdString();
    es::ErrorKind kind{};
    std::vector<md::Frame> frames;
    const QString msg = error_of(
        [&] {
          md::Source s = md::Source::open_memory(cut, name);
          frames = s.sample({10.0, 64});
        },
        &kind);
    if (msg.isEmpty()) {
      QVERIFY2(video, qPrintable(QString("no error at %1 of %2 bytes").arg(n).arg(whole.size())));
      for (const md::Frame& f : frames) {
        QCOMPARE(frame_number(f) % 40, static_cast<int>(std::lround(f.time_s * 10)) % 40);
      }
      continue;
    }
    ++errors;
    QVERIFY2(msg.startsWith(QString::fromStdString(name) + ": "), qPrintable(msg));
    QVERIFY2(kind == es::ErrorKind::bad_input || kind == es::ErrorKind::unsupported,
             qPrintable(msg));
  }
  QVERIFY2(errors >= 6, qPrintable(QString("only %1 cuts refused").arg(errors)));
}

// Bytes overwritten in the header: an error; in the middle: an error or frames, no crash.
void TestMedia::corrupt_bytes() {
  const QString clip =
      counting_clip("corrupt.mp4", 4.0, {"-c:v", "libx264", "-pix_fmt", "yuv420p"});
  const QString pic =
      make("corrupt.png", {"-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1"});
  QVERIFY(!clip.isEmpty() && !pic.isEmpty());
  for (const QString& path : {clip, pic}) {
    const std::vector<uint8_t> whole = read_bytes(path);
    std::vector<uint8_t> head = whole;
    for (size_t i = 0; i < 32; ++i) head[i] = static_cast<uint8_t>(0xA5 ^ i);
    const QString msg = error_of([&] { (void)md::decode_memory(head, "head.bin"); });
    QVERIFY2(msg.startsWith("head.bin: "), qPrintable(msg));
    for (const size_t at : {whole.size() / 3, whole.size() / 2, whole.size() * 3 / 4}) {
      std::vector<uint8_t> mid = whole;
      for (size_t i = at; i < std::min(mid.size(), at + 64); ++i) mid[i] = 0xFF;
      try {
        const md::Decoded d = md::decode_memory(mid, "middle.bin", {10.0, 64});
        QVERIFY(!d.frames.empty());
        for (const md::Frame& f : d.frames) {
          QCOMPARE(f.rgb.size(), static_cast<size_t>(f.height) * f.stride_bytes);
        }
      } catch (const es::Error& e) {
        QVERIFY2(QString(e.what()).startsWith("middle.bin: "), e.what());
      }
    }
  }
}

void TestMedia::bad_files_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<QByteArray>("content");  // "<dir>", "<missing>" or the bytes
  QTest::addColumn<int>("kind");
  QTest::addColumn<QString>("says");
  QTest::newRow("empty")
      << "empty.png" << QByteArray() << int(es::ErrorKind::bad_input)
      << "empty.png: not an image or video FFmpeg can decode (the file is empty)";
  QTest::newRow("text-named-png") << "notes.png" << QByteArray("just some text\n")
                                  << int(es::ErrorKind::bad_input)
                                  << "notes.png: not an image or video FFmpeg can decode";
  QTest::newRow("random-named-mp4")
      << "noise.mp4" << QByteArray(3000, '\x9c') << int(es::ErrorKind::bad_input)
      << "noise.mp4: not an image or video FFmpeg can decode";
  QTest::newRow("directory") << "folder.png" << QByteArray("<dir>") << int(es::ErrorKind::io)
                             << "folder.png: is a directory";
  QTest::newRow("missing") << "missing.jpg" << QByteArray("<missing>") << int(es::ErrorKind::io)
                           << "missing.jpg: no such file";
}

void TestMedia::bad_files() {
  QFETCH(QString, file);
  QFETCH(QByteArray, content);
  QFETCH(int, kind);
  QFETCH(QString, says);
  const QString path = dir_.filePath(file);
  if (content == "<dir>") {
    QVERIFY(QDir(dir_.path()).mkpath(file));
  } else if (content != "<missing>") {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(content);
  }
  es::ErrorKind got{};
  QString msg = error_of([&] { (void)md::decode(path.toStdString()); }, &got);
  QVERIFY2(msg.contains(says), qPrintable(msg));
  QCOMPARE(int(got), kind);
  msg = error_of([&] { (void)md::probe(path.toStdString()); }, &got);
  QVERIFY2(msg.contains(says), qPrintable(msg));
  if (content != "<dir>" && content != "<missing>") {
    const std::vector<uint8_t> bytes(content.begin(), content.end());
    msg = error_of([&] { (void)md::decode_memory(bytes, file.toStdString()); }, &got);
    QVERIFY2(msg.contains(says), qPrintable(msg));
  }
}

void TestMedia::probe_kinds() {
  const QString text = dir_.filePath("readme.md");
  write_bytes(text, {'#', ' ', 'h', 'i', '\n'});
  md::ProbeResult p = md::probe(text.toStdString());
  QCOMPARE(p.kind, md::Kind::text);
  QCOMPARE(p.chars, int64_t{5});
  QCOMPARE(p.frames_sampled, 0);
  // No claim in the name: the content decides.
  const QString noext = dir_.filePath("picture_without_extension");
  QVERIFY(QFile::copy(
      make("noext.png", {"-f", "lavfi", "-i", "testsrc=size=32x32", "-frames:v", "1"}), noext));
  QCOMPARE(md::probe(noext.toStdString()).kind, md::Kind::image);
  const QString blob = dir_.filePath("data.bin");
  write_bytes(blob, std::vector<uint8_t>(500, 0x00));
  QCOMPARE(md::probe(blob.toStdString()).kind, md::Kind::unknown);
  const QString plain = dir_.filePath("LICENSE");
  write_bytes(plain, {'M', 'I', 'T', '\n'});
  QCOMPARE(md::probe(plain.toStdString()).kind, md::Kind::text);
  QCOMPARE(md::kind_name(md::Kind::video), std::string_view("video"));
}

void TestMedia::resize_helpers() {
  md::Frame f;
  f.width = 64;
  f.height = 48;
  f.stride_bytes = 64 * 3;
  f.rgb.assign(64 * 48 * 3, 0);
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 64; ++x) {
      uint8_t* p = f.rgb.data() + y * f.stride_bytes + x * 3;
      p[0] = 200;
      p[1] = x < 32 ? 10 : 250;  // left half dark green channel, right half bright
      p[2] = 30;
    }
  }
  for (const md::Filter filter : {md::Filter::area, md::Filter::bicubic, md::Filter::bilinear}) {
    const md::Frame half = md::resize(f, 32, 24, filter);
    QCOMPARE(half.width, 32);
    QCOMPARE(half.height, 24);
    QCOMPARE(half.rgb.size(), size_t{32 * 24 * 3});
    QVERIFY(max_diff(half, 4, 12, 200, 10, 30) <= 2);
    QVERIFY(max_diff(half, 28, 12, 200, 250, 30) <= 2);
  }
  const md::Frame big = md::resize(f, 100, 17, md::Filter::bicubic);
  QCOMPARE(big.width, 100);
  QCOMPARE(big.height, 17);
  const md::Frame sq = md::center_crop_square(f);
  QCOMPARE(sq.width, 48);
  QCOMPARE(sq.height, 48);
  QCOMPARE(sq.pixel(0, 0)[1], uint8_t{10});           // x = 8 of the original
  QCOMPARE(sq.pixel(47, 0)[1], uint8_t{250});         // x = 55
  const md::Frame c = md::crop(f, 60, 40, 100, 100);  // clipped to 4x8
  QCOMPARE(c.width, 4);
  QCOMPARE(c.height, 8);
  QVERIFY(!error_of([&] { (void)md::crop(f, 64, 0, 4, 4); }).isEmpty());
  const md::Frame t = md::thumbnail(f, 16);
  QCOMPARE(t.width, 16);
  QCOMPARE(t.height, 12);
  const md::Frame same = md::thumbnail(f, 100);  // never enlarged
  QCOMPARE(same.width, 64);
  QVERIFY(!error_of([&] { (void)md::resize(f, 0, 10); }).isEmpty());
  QVERIFY(!error_of([&] { (void)md::resize(md::Frame{}, 10, 10); }).isEmpty());
}

void TestMedia::patch_fit() {
  // Qwen2-VL's smart_resize(1080, 1920, factor=28): (1092, 1932) with its default
  // max_pixels 16384·28², (728, 1316) with max_pixels 1280·28².
  QCOMPARE(md::patch_fit_size(1920, 1080, md::PatchFit{28, 56 * 56, 16384 * 28 * 28}),
           (std::pair<int, int>{1932, 1092}));
  const md::PatchFit qwen{28, 56 * 56, 1280 * 28 * 28};
  QCOMPARE(md::patch_fit_size(1920, 1080, qwen), (std::pair<int, int>{1316, 728}));
  // Too large: scaled down, then floored to multiples of 28.
  const auto [w, h] = md::patch_fit_size(4000, 3000, qwen);
  QCOMPARE(w % 28, 0);
  QCOMPARE(h % 28, 0);
  QVERIFY(int64_t{w} * h <= qwen.max_pixels);
  QVERIFY(std::abs(static_cast<double>(w) / h - 4.0 / 3.0) < 0.05);
  // Too small: scaled up to min_pixels.
  const auto [sw, sh] = md::patch_fit_size(20, 20, qwen);
  QCOMPARE(sw, 56);
  QCOMPARE(sh, 56);
  // A thin strip still fits.
  const auto [tw, th] = md::patch_fit_size(100000, 10, md::PatchFit{14, 14 * 14, 14 * 14 * 16});
  QVERIFY(int64_t{tw} * th <= 14 * 14 * 16);
  QCOMPARE(th, 14);
  md::Frame f;
  f.width = 50;
  f.height = 30;
  f.stride_bytes = 150;
  f.rgb.assign(50 * 30 * 3, 77);
  const md::Frame r = md::resize_to_patches(f, md::PatchFit{14, 14 * 14, 14 * 14 * 64});
  QCOMPARE(r.width % 14, 0);
  QCOMPARE(r.height % 14, 0);
  QCOMPARE(r.pixel(3, 3)[0], uint8_t{77});
  QVERIFY(!error_of([] { (void)md::patch_fit_size(10, 10, md::PatchFit{0, 1, 100}); }).isEmpty());
}

void TestMedia::cli_media_info() {
  const QString clip = counting_clip("cli.mp4", 4.0, {"-c:v", "libx264", "-pix_fmt", "yuv420p"});
  QVERIFY(!clip.isEmpty());
  es::test::CliRun r = es::test::run_cli({"media-info", clip});
  QCOMPARE(r.exit_code, 0);
  QVERIFY2(r.err.isEmpty(), r.err.constData());
  QJsonObject o = QJsonDocument::fromJson(r.out).object();
  QCOMPARE(o["kind"].toString(), QString("video"));
  QCOMPARE(o["width"].toInt(), 64);
  QCOMPARE(o["height"].toInt(), 48);
  QVERIFY(std::abs(o["duration_s"].toDouble() - 4.0) < 0.01);
  QCOMPARE(o["frames_sampled"].toInt(), 4);
  const QString pic = make(
      "cli.webp", {"-f", "lavfi", "-i", "testsrc=size=40x30", "-frames:v", "1", "-c:v", "libwebp"});
  r = es::test::run_cli({"media-info", "--compact", pic});
  QCOMPARE(r.exit_code, 0);
  o = QJsonDocument::fromJson(r.out).object();
  QCOMPARE(o["kind"].toString(), QString("image"));
  QCOMPARE(o["width"].toInt(), 40);
  QCOMPARE(o["frames_sampled"].toInt(), 1);
  QCOMPARE(o["duration_s"].toDouble(), 0.0);
}

void TestMedia::cli_errors_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<QByteArray>("content");
  QTest::addColumn<int>("exit");
  QTest::newRow("text-named-png") << "cli_text.png" << QByteArray("hello\n") << 3;
  QTest::newRow("corrupt-mp4") << "cli_bad.mp4"
                               << QByteArray(
                                      "\0\0\0\x18"
                                      "ftypisom",
                                      12) +
                                      QByteArray(500, 'x')
                               << 3;
  QTest::newRow("missing") << "cli_missing.mp4" << QByteArray("<missing>") << 3;
}

// One `error: ` line naming the file on stderr (FFmpeg's log kept quiet), nothing on
// stdout, exit 3.
void TestMedia::cli_errors() {
  QFETCH(QString, file);
  QFETCH(QByteArray, content);
  QFETCH(int, exit);
  const QString path = dir_.filePath(file);
  if (content != "<missing>") {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(content);
  }
  const es::test::CliRun r = es::test::run_cli({"media-info", path});
  QCOMPARE(r.exit_code, exit);
  QVERIFY(r.out.isEmpty());
  QVERIFY2(r.err.startsWith("error: " + path.toUtf8() + ": "), r.err.constData());
  QCOMPARE(r.err.count('\n'), 1);
  const es::test::CliRun usage = es::test::run_cli({"media-info"});
  QCOMPARE(usage.exit_code, 2);
}

QTEST_GUILESS_MAIN(TestMedia)
#include "test_media.moc"
