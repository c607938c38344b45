// `import MoDE` gives the whole library: the pipeline and training code of this module and
// every layer it is built on.
@_exported import MoDEClustering
@_exported import MoDEData
@_exported import MoDEFormats
@_exported import MoDEModels
@_exported import MoDENN
@_exported import MoDESynth
@_exported import MoDETensor
@_exported import MoDETokenizers
