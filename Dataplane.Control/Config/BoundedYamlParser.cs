using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Dataplane.Control.Config;

/// <summary>
/// The YAML event stream with limits applied as events arrive, before any node is built from them: nesting
/// depth (the config parsers walk the tree recursively, so '[' × 100 000 would overflow the stack — uncatchable), and
/// the nodes aliases add (a "billion laughs" file is small but expands exponentially when walked). A breach is
/// a <see cref="ConfigException"/> at the event that crossed the limit. Size is bounded by the caller, before
/// the text is even read (<see cref="ConfigFiles"/>).
/// </summary>
internal sealed class BoundedYamlParser(string file, IParser inner) : IParser
{
    /// <summary>Deepest nesting of mappings and lists; a Cilium policy is about 10 deep.</summary>
    public const int MaxDepth = 128;
    /// <summary>Largest config file, in bytes: 100 000 policy rules take about 13 MB.</summary>
    public const long MaxFileBytes = 64L << 20;
    /// <summary>Nodes that aliases may add in one file, counting every node under each alias each time it is used.</summary>
    public const long MaxAliasExpansion = 100_000;

    private int _depth;
    private long _events, _aliasNodes;
    /// <summary>Events from the start of each open collection, and its anchor, to size the anchor when it closes.</summary>
    private readonly Stack<(long Start, AnchorName Anchor)> _open = new();
    /// <summary>Nodes under each anchor, its aliases included: what one alias to it adds.</summary>
    private readonly Dictionary<AnchorName, long> _anchorSize = [];

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext()) return false;
        var ev = inner.Current!;
        _events++;
        switch (ev)
        {
            case MappingStart or SequenceStart:
                if (++_depth > MaxDepth)
                    throw Breach(ev, $"nesting deeper than {MaxDepth} levels");
                _open.Push((_events, ((NodeEvent)ev).Anchor));
                break;
            case MappingEnd or SequenceEnd:
                _depth--;
                var (start, anchor) = _open.Pop();
                if (!anchor.IsEmpty) _anchorSize[anchor] = _events - start;
                break;
            case Scalar s when !s.Anchor.IsEmpty:
                _anchorSize[s.Anchor] = 1;
                break;
            case AnchorAlias a:
                // An unknown alias is left to YamlTree, which reports it with its position.
                if (_anchorSize.TryGetValue(a.Value, out long size))
                {
                    _aliasNodes += size;
                    _events += size;   // an alias inside an anchored collection makes that anchor bigger too
                    if (_aliasNodes > MaxAliasExpansion)
                        throw Breach(ev, $"aliases expand to more than {MaxAliasExpansion} nodes");
                }
                break;
        }
        return true;
    }

    private ConfigException Breach(ParsingEvent ev, string what) =>
        new(new SourceLocation(file, (int)Math.Min(ev.Start.Line, int.MaxValue), (int)Math.Min(ev.Start.Column, int.MaxValue)),
            $"{what}: refused before parsing further");
}
