using System.IO.Hashing;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Core.Conntrack;

/// <summary>
/// What a conntrack file written by one build must share with the build that re-attaches it: the size and the
/// field offsets of <see cref="CtEntry"/>, <see cref="CtKey"/> and <see cref="CtNat"/>, the meaning of the state and
/// flag bits, and the clock the expiry times count in. <see cref="Version"/> is bumped by hand when a meaning changes
/// without the shape changing; <see cref="Checksum"/> is derived from the types themselves, so a field moved or
/// resized is caught even when nobody bumped the version.
/// </summary>
public static class CtLayout
{
    /// <summary>Layout version of this build's conntrack files.</summary>
    public const uint Version = 1;

    /// <summary>XxHash64 of <see cref="Describe"/>.</summary>
    public static ulong Checksum { get; } = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(Describe()));

    /// <summary>Every field (name, offset, type) of the stored structs, the bit constants and the clock, one per line.</summary>
    public static string Describe()
    {
        var s = new StringBuilder();
        s.Append("clock=unix-seconds\n");
        foreach (var t in new[] { typeof(CtKey), typeof(CtEntry), typeof(CtNat) })
        {
            s.Append(t.Name).Append(" size=").Append(Marshal.SizeOf(t)).Append('\n');
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).OrderBy(f => f.Name, StringComparer.Ordinal))
                s.Append("  ").Append(f.Name).Append(" @").Append(Marshal.OffsetOf(t, f.Name)).Append(' ').Append(f.FieldType.Name).Append('\n');
        }
        foreach (var t in new[] { typeof(TcpTracker), typeof(CtFlags) })
            foreach (var f in t.GetFields(BindingFlags.Static | BindingFlags.Public).Where(f => f.IsLiteral).OrderBy(f => f.Name, StringComparer.Ordinal))
                s.Append(t.Name).Append('.').Append(f.Name).Append('=').Append(f.GetRawConstantValue()).Append('\n');
        foreach (var v in Enum.GetValues<CtNatKind>())
            s.Append("CtNatKind.").Append(v).Append('=').Append((byte)v).Append('\n');
        return s.ToString();
    }
}
