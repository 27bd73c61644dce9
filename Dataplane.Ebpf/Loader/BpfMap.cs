using System.Runtime.CompilerServices;
using Dataplane.Ebpf.Interop;
using Dataplane.Linux.Interop;

namespace Dataplane.Ebpf.Loader;

/// <summary>
/// One map of the loaded datapath, by fd: typed element access for the control plane (filler, GC, counter
/// readers). Errors become <see cref="EbpfMapException"/> naming the map; a full map is
/// <see cref="EbpfMapFullException"/>.
/// </summary>
public sealed unsafe class BpfMap(string name, int fd, uint maxEntries, bool perCpu)
{
    private const int E2BIG = 7, ENOMEM = 12, ENOSPC = 28, ENOENT = 2, EEXIST = 17;

    public string Name { get; } = name;
    public int Fd { get; } = fd;
    public uint MaxEntries { get; } = maxEntries;
    public bool PerCpu { get; } = perCpu;

    public void Update<TKey, TValue>(TKey key, TValue value, ulong flags = Bpf.BPF_ANY)
        where TKey : unmanaged where TValue : unmanaged
    {
        int rc = LibBpf.bpf_map_update_elem(Fd, &key, &value, flags);
        if (rc != 0) Fail("update", Bpf.Err(rc));
    }

    /// <summary>False when the key is already present (with <see cref="Bpf.BPF_NOEXIST"/>).</summary>
    public bool TryInsert<TKey, TValue>(TKey key, TValue value) where TKey : unmanaged where TValue : unmanaged
    {
        int rc = LibBpf.bpf_map_update_elem(Fd, &key, &value, Bpf.BPF_NOEXIST);
        if (rc == 0) return true;
        int err = Bpf.Err(rc);
        if (err == EEXIST) return false;
        Fail("update", err);
        return false;
    }

    public bool TryLookup<TKey, TValue>(TKey key, out TValue value) where TKey : unmanaged where TValue : unmanaged
    {
        TValue v;
        int rc = Bpf.bpf_map_lookup_elem(Fd, &key, &v);
        value = rc == 0 ? v : default;
        if (rc != 0 && Bpf.Err(rc) != ENOENT) Fail("lookup", Bpf.Err(rc));
        return rc == 0;
    }

    /// <summary>Every CPU's value of a per-CPU map slot (the kernel pads each to 8 bytes).</summary>
    public TValue[] LookupPerCpu<TKey, TValue>(TKey key) where TKey : unmanaged where TValue : unmanaged
    {
        int cpus = Bpf.libbpf_num_possible_cpus();
        int stride = (sizeof(TValue) + 7) & ~7;
        var buf = new byte[cpus * stride];
        fixed (byte* b = buf)
        {
            int rc = Bpf.bpf_map_lookup_elem(Fd, &key, b);
            if (rc != 0) Fail("lookup", Bpf.Err(rc));
            var values = new TValue[cpus];
            for (int i = 0; i < cpus; i++) values[i] = Unsafe.ReadUnaligned<TValue>(b + i * stride);
            return values;
        }
    }

    /// <summary>Sets every CPU's value of a per-CPU map slot.</summary>
    public void UpdatePerCpu<TKey, TValue>(TKey key, TValue value) where TKey : unmanaged where TValue : unmanaged
    {
        int cpus = Bpf.libbpf_num_possible_cpus();
        int stride = (sizeof(TValue) + 7) & ~7;
        var buf = new byte[cpus * stride];
        fixed (byte* b = buf)
        {
            for (int i = 0; i < cpus; i++) Unsafe.WriteUnaligned(b + i * stride, value);
            int rc = LibBpf.bpf_map_update_elem(Fd, &key, b, Bpf.BPF_ANY);
            if (rc != 0) Fail("update", Bpf.Err(rc));
        }
    }

    public bool Delete<TKey>(TKey key) where TKey : unmanaged
    {
        int rc = Bpf.bpf_map_delete_elem(Fd, &key);
        if (rc == 0) return true;
        if (Bpf.Err(rc) != ENOENT) Fail("delete", Bpf.Err(rc));
        return false;
    }

    /// <summary>All keys (hash and LPM maps), read before any is changed.</summary>
    public List<TKey> Keys<TKey>() where TKey : unmanaged
    {
        var keys = new List<TKey>();
        TKey cur, next;
        int rc = Bpf.bpf_map_get_next_key(Fd, null, &next);
        while (rc == 0)
        {
            keys.Add(next);
            cur = next;
            rc = Bpf.bpf_map_get_next_key(Fd, &cur, &next);
            if (keys.Count > MaxEntries + 1) throw new EbpfMapException($"map {Name}: key iteration does not end");
        }
        return keys;
    }

    private void Fail(string op, int errno)
    {
        if (errno is E2BIG or ENOSPC or ENOMEM)
            throw new EbpfMapFullException(Name, MaxEntries, $"map {Name} is full ({MaxEntries} entries): {op} failed with errno {errno}");
        throw new EbpfMapException($"map {Name}: {op} failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }
}

/// <summary>A map operation failed.</summary>
public class EbpfMapException(string message) : Exception(message);

/// <summary>A map cannot hold what the snapshot needs; nothing of the snapshot was written.</summary>
public sealed class EbpfMapFullException(string map, uint capacity, string message) : EbpfMapException(message)
{
    public string Map { get; } = map;
    public uint Capacity { get; } = capacity;
}

/// <summary>The kernel refused the program or a map; <see cref="VerifierLog"/> holds what it said.</summary>
public sealed class EbpfLoadException(string message, string verifierLog)
    : Exception(verifierLog.Length == 0 ? message : $"{message}\n--- verifier / libbpf log ---\n{Tail(verifierLog)}")
{
    public string VerifierLog { get; } = verifierLog;

    // The cause is at the end of a verifier log; keep the message readable.
    private static string Tail(string log) => log.Length <= 8000 ? log : "…" + log[^8000..];
}
