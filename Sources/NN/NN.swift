public enum NN {}
