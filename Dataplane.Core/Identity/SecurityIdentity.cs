namespace Dataplane.Core.Identity;

/// <summary>A numeric identity and the label set it stands for.</summary>
public sealed record SecurityIdentity(uint Id, LabelSet Labels)
{
    public override string ToString() => $"{Id} {Labels.Key}";
}
