"""A real node beside the sandbox's control plane: containerd with runc, CNI, kubelet,
kube-proxy, and in the cluster CoreDNS, a LoadBalancer controller (MetalLB) and an
Ingress controller (Traefik).

Everything is built from source (Go modules, Debian packages) and started by kubelab as
root on this Linux machine; `kubelab down` removes every process, container, mount,
interface and firewall rule it made. See docs/local-node.md.
"""
