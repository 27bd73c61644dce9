using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;

namespace Dataplane.Host.Backends.Lanes;

/// <summary>
/// What one worker forwards with: a snapshot and the open ports numbered as that snapshot numbers them.
/// Published by the control thread, adopted by the worker between two bursts, so a packet is always processed
/// and transmitted under one consistent (snapshot, ports) pair.
/// </summary>
internal sealed record LanePlan(long Sequence, DatapathSnapshot Snapshot, IPort[] Rx, IPort?[] ById, int[] Fds);
