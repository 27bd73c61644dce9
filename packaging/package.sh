#!/usr/bin/env bash
# Release artefacts into OUT (called by `./dev package [OUT]`, which installs the Debian packages first):
#   OUT/bin/      dataplane-node (self-contained single file: no .NET runtime on the target),
#                 dataplane-cni (NativeAOT executable)
#   OUT/dataplane_VERSION_ARCH.deb   both binaries, the node agent's systemd unit, its defaults file, the docs
#   OUT/nuget/    the libraries' .nupkg with their .snupkg symbols
# The repository URL in the NuGet packages is `git remote get-url origin` or $DATAPLANE_REPOSITORY_URL; with
# neither the packages carry none rather than a made-up one (the script says so).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-artifacts}")
SKIP_NUGET=${DATAPLANE_SKIP_NUGET:-0}

die() { echo "package: $*" >&2; exit 1; }
step() { echo "package: $*" >&2; }

arch=$(dpkg --print-architecture)
case $arch in
  amd64) rid=linux-x64 ;;
  arm64) rid=linux-arm64 ;;
  *) die "no .NET runtime identifier for Debian architecture $arch" ;;
esac
version=$(dotnet msbuild Dataplane.Core/Dataplane.Core.csproj -getProperty:Version) || die "cannot read the version"
rm -rf "$OUT/bin" "$OUT/nuget" "$OUT"/dataplane_*.deb
mkdir -p "$OUT/bin"

# --- Binaries -------------------------------------------------------------------------------------------------
# Each host: project directory, binary name, install directory in the .deb. The gateway host joins this table
# (and packaging/deb/dataplane-gateway.service is picked up) when hosts/Dataplane.Gateway exists.
hosts=("hosts/Dataplane.Node dataplane-node usr/bin"
       "hosts/Dataplane.Cni dataplane-cni usr/lib/cni")
[ -d hosts/Dataplane.Gateway ] && hosts+=("hosts/Dataplane.Gateway dataplane-gateway usr/bin")

for h in "${hosts[@]}"; do
  read -r project name _ <<<"$h"
  step "publishing $name ($rid, self-contained)"
  publish_dir=$(mktemp -d)
  # PublishAot projects (dataplane-cni) become one native executable; the others one self-contained file.
  dotnet publish "$project" -c Release -r "$rid" --self-contained -nologo -v quiet -clp:ErrorsOnly \
      -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:EnableCompressionInSingleFile=true \
      -p:DebugType=embedded -o "$publish_dir" || die "dotnet publish $project failed (errors above)"
  [ -x "$publish_dir/$name" ] || die "publishing $project made no $name"
  install -m 0755 "$publish_dir/$name" "$OUT/bin/$name"
  rm -rf "$publish_dir"
done

# --- The .deb -------------------------------------------------------------------------------------------------
step "building the .deb"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for h in "${hosts[@]}"; do
  read -r _ name dir <<<"$h"
  install -D -m 0755 "$OUT/bin/$name" "$stage/$dir/$name"
  unit=packaging/deb/$name.service
  [ -f "$unit" ] && install -D -m 0644 "$unit" "$stage/lib/systemd/system/$name.service"
  [ -f "packaging/deb/$name.default" ] && install -D -m 0644 "packaging/deb/$name.default" "$stage/etc/default/$name"
done
install -d -m 0755 "$stage/etc/dataplane"
install -D -m 0644 README.md "$stage/usr/share/doc/dataplane/README.md"
for f in docs/*.md; do install -m 0644 "$f" "$stage/usr/share/doc/dataplane/"; done
install -D -m 0644 packaging/deb/copyright "$stage/usr/share/doc/dataplane/copyright"
install -d "$stage/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "packaging/deb/$s" "$stage/DEBIAN/$s"; done
(cd "$stage" && find etc -type f -printf '/%p\n') > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
# Run-time needs of the binaries: libc/libstdc++ for the .NET host and NativeAOT, zlib and OpenSSL (etcd over TLS),
# libbpf1 to load the XDP/TC programs, iproute2 for the CNI plugin; DPDK's libraries only for --backend dpdk.
cat > "$stage/DEBIAN/control" <<EOF
Package: dataplane
Version: $version
Architecture: $arch
Maintainer: Dataplane developers <dataplane@localhost>
Installed-Size: $size
Depends: libc6 (>= 2.36), libgcc-s1, libstdc++6, zlib1g, libssl3, libbpf1, iproute2
Recommends: dpdk
Section: net
Priority: optional
Description: userspace packet dataplane with Cilium semantics: node agent and CNI plugin
 dataplane-node forwards between a node's interfaces and its pods' (AF_PACKET, AF_XDP, DPDK or an
 XDP/TC eBPF offload) with Cilium's identities, network policy, conntrack, Maglev services, SNAT,
 egress gateway, VXLAN and SRv6; dataplane-cni is its CNI plugin (in /usr/lib/cni). The systemd unit
 dataplane-node.service starts the agent once /etc/dataplane holds the node's configuration.
EOF
deb="$OUT/dataplane_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null || die "dpkg-deb failed"
step "wrote $deb"

# --- NuGet ----------------------------------------------------------------------------------------------------
if [ "$SKIP_NUGET" != 1 ]; then
  url=${DATAPLANE_REPOSITORY_URL:-$(git remote get-url origin 2>/dev/null || true)}
  [ -n "$url" ] || step "no git remote 'origin' and no DATAPLANE_REPOSITORY_URL: the packages carry no repository URL"
  step "packing the NuGet packages"
  dotnet pack Dataplane.sln -c Release -nologo -v quiet -clp:ErrorsOnly -o "$OUT/nuget" \
      ${url:+-p:RepositoryUrl="$url"} || die "dotnet pack failed (errors above)"
  ls "$OUT"/nuget/*.snupkg >/dev/null 2>&1 || die "dotnet pack made no symbol packages"
fi

step "artefacts in $OUT:"
(cd "$OUT" && find . -type f \( -name '*.deb' -o -name '*nupkg' -o -path './bin/*' \) -printf '  %p %s bytes\n' | sort) >&2
