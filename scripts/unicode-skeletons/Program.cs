// Writes, for every code point c, skeleton(NFKC_Casefold(c)) where it differs from c, and the canonical
// combining class of every code point that has one, using the system's ICU (UTS #39 confusables).
using System.Runtime.InteropServices;
using System.Text;

var v = args.Length > 0 ? args[0] : "72";
var i18n = NativeLibrary.Load($"libicui18n.so.{v}");
var uc = NativeLibrary.Load($"libicuuc.so.{v}");
unsafe
{
    var spoofOpen = (delegate* unmanaged<int*, nint>)NativeLibrary.GetExport(i18n, $"uspoof_open_{v}");
    var skeleton = (delegate* unmanaged<nint, uint, char*, int, char*, int, int*, int>)NativeLibrary.GetExport(i18n, $"uspoof_getSkeleton_{v}");
    var nfkccf = (delegate* unmanaged<int*, nint>)NativeLibrary.GetExport(uc, $"unorm2_getNFKCCasefoldInstance_{v}");
    var normalize = (delegate* unmanaged<nint, char*, int, char*, int, int*, int>)NativeLibrary.GetExport(uc, $"unorm2_normalize_{v}");
    var ccc = (delegate* unmanaged<int, byte>)NativeLibrary.GetExport(uc, $"u_getCombiningClass_{v}");
    var getVersion = (delegate* unmanaged<byte*, void>)NativeLibrary.GetExport(uc, $"u_getUnicodeVersion_{v}");
    int err = 0;
    var sc = spoofOpen(&err);
    var norm = nfkccf(&err);
    if (err > 0) throw new Exception($"ICU error {err}");
    byte* ver = stackalloc byte[4];
    getVersion(ver);
    var output = new StringBuilder();
    output.Append($"# Unicode {ver[0]}.{ver[1]}.{ver[2]}, ICU {v}: data derived from the Unicode confusables (UTS #39) and normalization data,\n");
    output.Append("# modified into one table; see LICENSE-UNICODE.txt. Regenerate with scripts/unicode-skeletons.\n");
    output.Append("# X>Y Z: code point X (hex) folds to Y Z, the fixpoint of skeleton(NFKC_Casefold(X)) (an empty list: X vanishes).\n");
    output.Append("# X#N: code point X has canonical combining class N.\n");
    char* a = stackalloc char[256];
    char* b = stackalloc char[256];
    char* d = stackalloc char[256];
    int mappings = 0, classes = 0;
    for (var cp = 0; cp <= 0x10FFFF; cp++)
    {
        if (cp is >= 0xD800 and <= 0xDFFF) continue;
        var s = char.ConvertFromUtf32(cp);
        for (var i = 0; i < s.Length; i++) a[i] = s[i];
        // skeleton(NFKC_Casefold(x)), repeated until it stops changing: the skeleton of 0 is O, whose fold is o.
        var t = s;
        for (var round = 0; ; round++)
        {
            for (var i = 0; i < t.Length; i++) a[i] = t[i];
            err = 0;
            var n = normalize(norm, a, t.Length, b, 256, &err);
            if (err > 0) throw new Exception($"normalize {cp:X} {err}");
            err = 0;
            var m = n == 0 ? 0 : skeleton(sc, 0, b, n, d, 256, &err);
            if (err > 0) throw new Exception($"skeleton {cp:X} {err}");
            var next = new string(d, 0, m);
            if (next == t) break;
            if (round == 8) throw new Exception($"no fixpoint for {cp:X}");
            t = next;
        }
        if (t != s)
        {
            output.Append($"{cp:X}>{string.Join(' ', EnumerateRunes(t).Select(r => r.Value.ToString("X")))}\n");
            mappings++;
        }
        var c = ccc(cp);
        if (c != 0)
        {
            output.Append($"{cp:X}#{c}\n");
            classes++;
        }
    }
    File.WriteAllText(args.Length > 1 ? args[1] : "skeletons.txt", output.ToString());
    Console.WriteLine($"{mappings} mappings, {classes} combining classes");
}

static IEnumerable<Rune> EnumerateRunes(string s) => s.EnumerateRunes().ToList();
