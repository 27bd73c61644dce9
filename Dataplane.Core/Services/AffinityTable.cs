using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Core.Services;

/// <summary>
/// sessionAffinity: ClientIP state of one worker: (client address, service port id) → backend, with an expiry
/// refreshed by every new connection that uses it (Cilium's lb affinity map). Open addressing with 48-byte
/// slots and a short probe window; when the window is full the entry closest to expiry is replaced, so a full
/// table degrades affinity, never the datapath. Single writer (the worker), allocated once.
/// </summary>
public sealed class AffinityTable
{
    private const int Window = 8;

    [StructLayout(LayoutKind.Explicit, Size = 48)]
    private struct Slot
    {
        [FieldOffset(0)] public UInt128 Client;
        [FieldOffset(16)] public UInt128 Backend;
        [FieldOffset(32)] public uint Service;
        [FieldOffset(36)] public uint Expires;
        [FieldOffset(40)] public ushort BackendPort;
        [FieldOffset(42)] public byte Family;
    }

    private readonly Slot[] _slots;
    private readonly uint _mask;

    public AffinityTable(int capacity = 16384)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(Window, capacity));
        _slots = new Slot[size];
        _mask = (uint)size - 1;
    }

    public int Capacity => _slots.Length;

    /// <summary>The backend <paramref name="client"/> is bound to for <paramref name="service"/>, if not expired.</summary>
    public bool TryGet(UInt128 client, byte family, uint service, uint now, out UInt128 backend, out ushort port)
    {
        uint i = Hash(client, service);
        for (int n = 0; n < Window; n++, i++)
        {
            ref Slot s = ref _slots[i & _mask];
            if (s.Family == family && s.Client == client && s.Service == service && s.Expires > now)
            {
                backend = s.Backend; port = s.BackendPort;
                return true;
            }
        }
        backend = 0; port = 0;
        return false;
    }

    /// <summary>Binds (or re-binds, refreshing the expiry) the client to a backend until <paramref name="expires"/>.</summary>
    public void Set(UInt128 client, byte family, uint service, UInt128 backend, ushort port, uint now, uint expires)
    {
        uint i = Hash(client, service);
        int victim = -1;
        uint soonest = uint.MaxValue;
        for (int n = 0; n < Window; n++, i++)
        {
            int at = (int)(i & _mask);
            ref Slot s = ref _slots[at];
            if (s.Family == family && s.Client == client && s.Service == service) { victim = at; break; }
            uint exp = s.Family == 0 || s.Expires <= now ? 0 : s.Expires;
            if (exp < soonest) { soonest = exp; victim = at; }
        }
        _slots[victim] = new Slot
        {
            Client = client, Backend = backend, Service = service, Expires = Math.Max(1, expires), BackendPort = port, Family = family,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(UInt128 client, uint service)
    {
        uint h = BitOperations.Crc32C(service, (ulong)client);
        h = BitOperations.Crc32C(h, (ulong)(client >> 64));
        return h ^ (h >> 16);
    }
}
