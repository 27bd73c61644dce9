using System.Collections.Immutable;

namespace Dataplane.Control.Config;

/// <summary>
/// The MACs a node answers to (router, interfaces, local pods) must be distinct, or frames addressed to one
/// would be delivered to another. Collects them with their positions and names the earlier owner on conflict.
/// </summary>
internal sealed class MacRegistry
{
    private readonly Dictionary<MacAddress, (string Owner, SourceLocation At)> _owners = new();
    private readonly ImmutableArray<(MacAddress, SourceLocation, string)>.Builder _entries =
        ImmutableArray.CreateBuilder<(MacAddress, SourceLocation, string)>();

    public ImmutableArray<(MacAddress Mac, SourceLocation At, string Owner)> Entries => _entries.ToImmutable();

    /// <summary>Registers <paramref name="mac"/>; on conflict throws at <paramref name="at"/>, reason prefixed by the field path.</summary>
    public void Add(MacAddress mac, SourceLocation at, string owner, string reasonPrefix = "")
    {
        if (_owners.TryGetValue(mac, out var first))
            throw new ConfigException(at,
                $"{reasonPrefix}MAC address {mac} is already used by {first.Owner} (at {first.At})");
        _owners.Add(mac, (owner, at));
        _entries.Add((mac, at, owner));
    }
}
