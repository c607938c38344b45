import MoDEModels

/// open_clip's CLIP trains through `Trainer` as is: `forwardBackward` zeroes the gradients and
/// runs both towers, the contrastive loss and the backward; `clampLogitScale` and `logitScale`
/// (exp(logit_scale)) are the model's own.
extension CLIPModel: ContrastiveModel {}
