"""The toolkit of the backends whose nodes are Docker containers (kind, minikube): what
both need and neither owns, so that neither imports the other.

- nodes.py: the node containers on the engine, waiting for the nodes to be Ready, the
  Docker networks they sit on;
- network.py: pod routes between nodes made from an image built here (no CNI of its
  own), and the LoadBalancer route from this machine;
- addons.py: MetalLB and Traefik on such a cluster, with LoadBalancer addresses from its
  Docker network (the manifests are kubelab/_backends/addons, shared with local).
"""
